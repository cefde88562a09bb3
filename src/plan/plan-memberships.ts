import { isRetarget, type CohortPlan } from "../model/plan.js";
import { noRejections } from "../model/reject-reason.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { extractGroupedMembers, type GroupedMembers } from "../sources/extract-grouped-members.js";
import { PostgresSource } from "../sources/postgres-source.js";
import type { Project } from "../model/project.js";
import type { Source } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import type { SetRun } from "./expand-sets.js";
import { diffGrouped, type DiffSlot } from "./grouped-diff.js";
import type { MembershipDelta } from "./membership-diff.js";
import type { ResourceDecision } from "./resource-actions.js";

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
  /** Told once per model run, naming the cohorts that share it. */
  readonly onModelRun?: (model: string, addresses: readonly string[]) => void;
}

/** Slot numbers of a re-target's old-workspace side: far above any cohort's own slot. */
const RETARGET_OFFSET = 1 << 30;

/**
 * Memberships of every cohort that shares a model run with others, one pass per
 * run: each set's instances (its model ran in expandSets), ordinary cohorts with
 * the same model and identifier (their model runs here, once), and deletes (no
 * model at all). Cohorts left out (a lone cohort, a pushed-down one) are planned
 * one by one by the caller; the result says which were done.
 */
export async function planGroupedMemberships(ctx: GroupingContext, decisions: readonly ResourceDecision[], runs: ReadonlyMap<string, SetRun>): Promise<Map<string, GroupedMembership>> {
  const out = new Map<string, GroupedMembership>();
  const bySet = new Map<string, ResourceDecision[]>();
  const byModel = new Map<string, ResourceDecision[]>();
  const deletes: ResourceDecision[] = [];
  for (const decision of decisions) {
    const cohort = decision.cohort;
    if (!cohort) deletes.push(decision);
    else if (cohort.instanceOf) push(bySet, cohort.instanceOf.set, decision);
    else if (!mayPushDown(ctx, cohort.model)) push(byModel, `${cohort.model}\u0000${cohort.identifier}`, decision);
  }
  for (const [set, group] of bySet) await planGroup(ctx, runs.get(set)!.extracted, group, out);
  for (const group of byModel.values()) {
    if (group.length < 2) continue;
    const cohort = group[0]!.cohort!;
    const model = ctx.project.models.get(cohort.model)!;
    ctx.onModelRun?.(model.name, group.map((d) => d.address));
    const extracted = await extractGroupedMembers(ctx.engine, ctx.sources.get(model.source)!, model, ctx.project.identifiers.get(cohort.identifier)!, undefined);
    await planGroup(ctx, extracted, group, out);
  }
  if (deletes.length > 1) await planGroup(ctx, undefined, deletes, out);
  return out;
}

async function planGroup(ctx: GroupingContext, extracted: GroupedMembers | undefined, group: readonly ResourceDecision[], out: Map<string, GroupedMembership>): Promise<void> {
  const slots: DiffSlot[] = [];
  const base = out.size;
  group.forEach((decision, i) => {
    const slot = base + i;
    const prior = decision.prior;
    const snapshot = prior && prior.members.count > 0 && ctx.backend.membersUnavailable === undefined
      ? { address: decision.address, expected: { snapshot: prior.snapshot, count: prior.members.count, digest: prior.members.digest } }
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
    const slot = base + i;
    const delta = deltas.get(slot)!;
    const removals = deltas.get(slot + RETARGET_OFFSET);
    const key = groupOf(decision);
    const stats = key === undefined ? undefined : extracted?.groups.get(key);
    out.set(decision.address, {
      rows: decision.cohort ? (stats?.rows ?? 0) : null,
      rejected: stats ? { ...stats.rejected } : noRejections(),
      delta,
      retargetRemovals: removals?.removeTable,
      desired: key === undefined || !extracted ? undefined : `(SELECT key FROM ${extracted.table} WHERE k = '${key.replace(/'/g, "''")}')`,
    });
  });
}

function groupOf(decision: ResourceDecision): string | undefined {
  const cohort = decision.cohort;
  if (!cohort) return undefined;
  return cohort.instanceOf ? cohort.instanceOf.key : "";
}

/** Cohorts the PostgreSQL push-down may plan stay on their own path (only deltas leave the database). */
function mayPushDown(ctx: GroupingContext, modelName: string): boolean {
  const model = ctx.project.models.get(modelName)!;
  return ctx.pushDown && ctx.sources.get(model.source) instanceof PostgresSource && "pushDownTarget" in ctx.backend;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
