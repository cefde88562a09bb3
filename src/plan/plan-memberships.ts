import { isRetarget, type CohortPlan } from "../model/plan.js";
import { noRejections } from "../model/reject-reason.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { extractGroupedMembers, type GroupedMembers } from "../sources/extract-grouped-members.js";
import type { Project } from "../model/project.js";
import type { Source } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import type { SetRun } from "./expand-sets.js";
import type { ModelRuns } from "./model-runs.js";
import { onForks } from "../sources/on-forks.js";
import { diffGrouped, type DiffSlot } from "./grouped-diff.js";
import type { MembershipDelta } from "./membership-diff.js";
import type { ResourceDecision } from "./resource-actions.js";
import { expectedSnapshot } from "../state/snapshot-record.js";

/** A cohort's membership, computed in a group with others. */
export interface GroupedMembership {
  readonly rows: number | null;
  readonly rejected: CohortPlan["rejected"];
  readonly delta: MembershipDelta;
  /** On a re-target: every recorded member (they leave the old workspace). */
  readonly retargetRemovals: string | undefined;
  readonly desired: string | undefined;
}

export interface GroupingContext {
  readonly project: Pick<Project, "models" | "identifiers">;
  readonly engine: DuckDbEngine;
  readonly backend: StateBackend;
  readonly sources: ReadonlyMap<string, Source>;
  readonly pushDown: boolean;
  /** Every model's one run (shared with the sets' expansion). */
  readonly modelRuns: ModelRuns;
}

/** Slot numbers of a re-target's old-workspace side: far above any cohort's own slot. */
const RETARGET_OFFSET = 1 << 30;

/** One grouped diff: cohorts whose desired members come from one extraction (or none, for deletes). */
interface GroupTask {
  readonly decisions: readonly ResourceDecision[];
  /** The set whose run feeds the group, or the model and identifier to extract; neither: deletes. */
  readonly set?: string;
  readonly model?: { readonly name: string; readonly identifier: string };
  readonly base: number;
}

/**
 * Memberships of every cohort planned in a group, one pass per group: each set's
 * instances (its model ran in expandSets), ordinary cohorts of a model that more
 * than one cohort or set reads (grouped by identifier; the model runs once for
 * all), and deletes (no model at all). Groups are planned side by side, on forks
 * of the engine. Cohorts left out (the only reader of its model, a pushed-down
 * one) are planned one by one by the caller; the result says which were done.
 */
export async function planGroupedMemberships(ctx: GroupingContext, decisions: readonly ResourceDecision[], runs: ReadonlyMap<string, SetRun>): Promise<Map<string, GroupedMembership>> {
  const bySet = new Map<string, ResourceDecision[]>();
  const byModel = new Map<string, ResourceDecision[]>();
  const deletes: ResourceDecision[] = [];
  for (const decision of decisions) {
    const cohort = decision.cohort;
    if (!cohort) deletes.push(decision);
    else if (cohort.instanceOf) push(bySet, cohort.instanceOf.set, decision);
    else if (!mayPushDown(ctx, cohort.model) && ctx.modelRuns.shared(cohort.model)) push(byModel, `${cohort.model}\u0000${cohort.identifier}`, decision);
  }
  const tasks: GroupTask[] = [];
  let base = 0;
  const add = (task: Omit<GroupTask, "base">) => {
    tasks.push({ ...task, base });
    base += task.decisions.length;
  };
  for (const [set, group] of bySet) add({ decisions: group, set });
  for (const group of byModel.values()) add({ decisions: group, model: { name: group[0]!.cohort!.model, identifier: group[0]!.cohort!.identifier } });
  if (deletes.length > 1) add({ decisions: deletes });
  try {
    const results = await onForks(ctx.engine, tasks, (engine, task) => planTask({ ...ctx, engine }, task, runs));
    return new Map(results.flatMap((r) => [...r]));
  } finally {
    await ctx.modelRuns.release(ctx.engine);
  }
}

async function planTask(ctx: GroupingContext, task: GroupTask, runs: ReadonlyMap<string, SetRun>): Promise<Map<string, GroupedMembership>> {
  if (task.set !== undefined) return planGroup(ctx, runs.get(task.set)!.extracted, task);
  if (!task.model) return planGroup(ctx, undefined, task);
  const rows = await ctx.modelRuns.rows(ctx.engine, task.model.name);
  const extracted = await extractGroupedMembers(ctx.engine, rows, ctx.project.identifiers.get(task.model.identifier)!, undefined);
  return planGroup(ctx, extracted, task);
}

async function planGroup(ctx: GroupingContext, extracted: GroupedMembers | undefined, task: GroupTask): Promise<Map<string, GroupedMembership>> {
  const out = new Map<string, GroupedMembership>();
  const group = task.decisions;
  const slots: DiffSlot[] = [];
  group.forEach((decision, i) => {
    const slot = task.base + i;
    const prior = decision.prior;
    const snapshot = prior && prior.members.count > 0 && ctx.backend.membersUnavailable === undefined
      ? { address: decision.address, expected: expectedSnapshot(prior) }
      : undefined;
    const retarget = isRetarget(decision.changed);
    // Re-targeted: all desired members are additions in the new workspace (or attribute), and all
    // recorded ones removals in the old one, when the config still reaches it (another destination
    // name, or another attribute in the same destination).
    const leaves = retarget && decision.before !== null && decision.after !== null && (decision.changed.includes("target") || decision.before.destination !== decision.after.destination);
    slots.push({ slot, group: groupOf(decision), snapshot: retarget ? undefined : snapshot });
    if (leaves && snapshot) slots.push({ slot: slot + RETARGET_OFFSET, group: undefined, snapshot });
  });
  const deltas = await diffGrouped(ctx.engine, ctx.backend, extracted?.table, slots);
  group.forEach((decision, i) => {
    const slot = task.base + i;
    const delta = deltas.get(slot)!;
    const removals = deltas.get(slot + RETARGET_OFFSET);
    const key = groupOf(decision);
    const stats = key === undefined ? undefined : extracted?.groups.get(key);
    // The distinct members, counted from the diff (the desired rows may repeat a key): those
    // recorded and kept, plus the additions.
    const recorded = slots.find((s) => s.slot === slot)?.snapshot ? decision.prior!.members.count : 0;
    const members = recorded - delta.remove + delta.add;
    out.set(decision.address, {
      rows: decision.cohort ? (stats?.rows ?? 0) : null,
      rejected: stats ? { ...stats.rejected, duplicate: stats.valid - members } : noRejections(),
      delta,
      retargetRemovals: removals?.removeTable,
      desired: key === undefined || !extracted ? undefined : `(SELECT DISTINCT key FROM ${extracted.table} WHERE k = '${key.replace(/'/g, "''")}')`,
    });
  });
  return out;
}

function groupOf(decision: ResourceDecision): string | undefined {
  const cohort = decision.cohort;
  if (!cohort) return undefined;
  return cohort.instanceOf ? cohort.instanceOf.key : "";
}

/** Cohorts a push-down may plan stay on their own path (only deltas leave the database): their source can push down and the state has a snapshot home. */
export function mayPushDown(ctx: Pick<GroupingContext, "project" | "sources" | "backend" | "pushDown">, modelName: string): boolean {
  const model = ctx.project.models.get(modelName)!;
  return ctx.pushDown && ctx.sources.get(model.source)?.pushDownTarget !== undefined && ctx.backend.snapshotHome !== undefined;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
