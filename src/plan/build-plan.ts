import { PLAN_FORMAT_VERSION, isRetarget, type CohortPlan, type CostEstimate, type Plan, type PlanSummary, type WarehouseCost } from "../model/plan.js";
import { addCosts, estimateCost, readBackSeconds, roadGuards } from "../destinations/roads.js";
import { formatDuration } from "../model/duration.js";
import { cohortCost } from "./cost.js";
import { shareGroupCosts } from "./request-groups.js";
import type { IdentifierConfig, Project } from "../model/project.js";
import { noRejections } from "../model/reject-reason.js";
import type { StateView } from "../model/state.js";
import { literal, type DuckDbEngine } from "../sources/duckdb-engine.js";
import { keyPrefix } from "../sources/identifier-sql.js";
import { extractMembers, withDuplicates, type ExtractedMembers } from "../sources/extract-members.js";
import type { Source } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import { COHO_VERSION } from "../version.js";
import { newCohortId as randomCohortId } from "./cohort-id.js";
import { parseAddress } from "../model/address.js";
import { configDigest } from "./config-digest.js";
import { expandSets } from "./expand-sets.js";
import { mayPushDown, planGroupedMemberships } from "./plan-memberships.js";
import { ModelRuns, modelConsumers } from "./model-runs.js";
import { setGuards } from "./set-guards.js";
import { evaluateGuards } from "./guards.js";
import { diffMembership, sampleKeys, type MembershipDelta } from "./membership-diff.js";
import { tryPushDown } from "./pushdown.js";
import { deleteEffect, planResources, type ResourceDecision } from "./resource-actions.js";
import { sqlDiff } from "../util/sql-diff.js";
import { checkDbtRelations } from "../dbt/check-relations.js";
import { dbtModelPlan, dbtRefChanges } from "../dbt/plan-info.js";
import { expectedSnapshot } from "../state/snapshot-record.js";
import { groupDigits } from "../util/group-digits.js";

export interface PlanOptions {
  readonly targets: readonly string[];
  readonly allowRemovals: boolean;
  /** Sample member keys to include per cohort (0: none, the default: no PII). */
  readonly showMembers: number;
  /** Diff inside PostgreSQL when model and state share a database (default true). */
  readonly pushDown?: boolean;
  /** Re-send the additions of every recorded member (`--refresh`), not only when `refresh_every` says so. */
  readonly refresh?: boolean;
  /** Drift a read-back found (`--refresh-from-braze`), by address: those members' additions are sent again. */
  readonly repair?: ReadonlyMap<string, RepairFound>;
}

/** Recorded members a read-back found no longer holding what coho wrote, and how many were read. */
export interface RepairFound {
  readonly keys: readonly string[];
  readonly sampled: number;
  readonly reasons: Readonly<Record<"changed" | "absent" | "evicted", number>>;
}

export type PlanEvent =
  /** A model runs; `cohorts` (when several) share this one run, `address` is the first of them or the set. */
  | { readonly type: "model"; readonly address: string; readonly model: string; readonly cohorts?: number }
  | { readonly type: "snapshot"; readonly address: string }
  /** The diff ran inside PostgreSQL; only the deltas were read out. */
  | { readonly type: "pushed_down"; readonly address: string };

export interface PlanContext {
  readonly project: Project;
  readonly backend: StateBackend;
  readonly engine: DuckDbEngine;
  readonly sources: ReadonlyMap<string, Source>;
  readonly options: PlanOptions;
  readonly newCohortId?: (key: string) => string;
  readonly now?: () => Date;
  readonly onEvent?: (event: PlanEvent) => void;
  /** Work an interrupted apply left behind (the next apply finishes it first). */
  readonly pendingApply?: PendingApply | null;
}

/** A plan plus what apply needs to carry it out: the exact deltas, as engine tables. */
export interface PlannedChanges {
  readonly plan: Plan;
  readonly state: StateView;
  readonly decisions: ReadonlyMap<string, ResourceDecision>;
  readonly deltas: ReadonlyMap<string, MembershipDelta & { readonly desiredTable: string | undefined }>;
}

/**
 * config + state → plan. Resource actions come from a pure function; membership
 * deltas from the engine. Nothing here prints or touches Braze.
 */
export async function buildPlan(ctx: PlanContext): Promise<PlannedChanges> {
  const { project, options } = ctx;
  const state = await ctx.backend.read();
  const onModelRun = (model: string, addresses: readonly string[]) => ctx.onEvent?.({ type: "model", address: addresses[0]!, model, cohorts: addresses.length });
  const setConfigs = [...project.cohorts.values()].filter((c) => c.forEach);
  // dbt relations are probed before any model runs, so a missing one gets its own message.
  await checkDbtRelations(project, ctx.sources, setConfigs.map((c) => c.model));
  const pushDown = options.pushDown !== false;
  const consumers = modelConsumers(project, options.targets, (model) => mayPushDown({ ...ctx, pushDown }, model));
  const modelRuns = new ModelRuns(project, ctx.sources, consumers, onModelRun);
  const expanded = await expandSets(project, state, ctx.engine, modelRuns, options.targets);
  const resources = planResources({ ...expanded, destinations: project.destinations, dir: project.dir, models: project.models }, state, ctx.newCohortId ?? randomCohortId, options.targets, setConfigs.map((c) => c.address));
  await checkDbtRelations(project, ctx.sources, resources.decisions.flatMap((d) => (d.cohort && !d.cohort.instanceOf ? [d.cohort.model] : [])));
  const grouped = await planGroupedMemberships({ ...ctx, pushDown, modelRuns }, resources.decisions, expanded.runs);
  const cohorts: CohortPlan[] = [];
  const deltas = new Map<string, MembershipDelta & { desiredTable: string | undefined }>();
  for (const planned of resources.decisions) {
    const decision = explainInstanceDelete(project, planned);
    const membership = grouped.get(decision.address);
    // Without recorded members (see membersUnavailable) only net counts are known, as on the single path.
    const net = membership && ctx.backend.membersUnavailable !== undefined && !decision.changed.includes("destination")
      ? { ...membership, delta: netDelta(membership.delta, decision.prior?.members.count ?? 0) }
      : membership;
    const { cohortPlan, delta } = net ? await finishCohort(ctx, decision, { ...net, diff: modelDiff(project, decision) }) : await planCohort(ctx, decision);
    cohorts.push(cohortPlan);
    deltas.set(decision.address, delta);
  }
  // Guards a road adds across its cohorts (the attribute road's array cap): set instances
  // count, also those of sets this plan did not expand (--target elsewhere).
  const guarded = new Map([...expanded.cohorts, ...expanded.recordedInstances.map((c) => [c.address, c] as const)]);
  const roadVerdicts = await roadGuards({ destinations: project.destinations, cohorts: guarded }, (address) => deltas.get(address)?.desiredTable, ctx.engine);
  for (const [i, cohort] of cohorts.entries()) {
    const verdict = roadVerdicts.get(cohort.address);
    if (verdict && cohort.after) cohorts[i] = { ...cohort, guards: [...cohort.guards, verdict] };
  }
  // Cohorts sharing requests (one object per user) show their share of what the group sends.
  if (ctx.backend.membersUnavailable === undefined) {
    const shared = await shareGroupCosts(project.destinations, ctx.engine, cohorts, (address) => ({ add: deltas.get(address)?.addTable, remove: deltas.get(address)?.removeTable }));
    cohorts.splice(0, cohorts.length, ...shared);
  }
  const sets = [...expanded.sets.values()].map((set) => ({ ...set, guards: setGuards(project.cohorts.get(set.address.slice("cohorts.".length))!, cohorts, options.allowRemovals) }));
  const blocked = cohorts.some((c) => c.guards.some((g) => g.status === "blocked")) || sets.some((s) => s.guards.some((g) => g.status === "blocked"));
  const cost = addCosts(cohorts.map((c) => c.cost!));
  const plan: Plan = {
    format: "coho-plan",
    format_version: PLAN_FORMAT_VERSION,
    coho_version: COHO_VERSION,
    created_at: (ctx.now?.() ?? new Date()).toISOString(),
    ...(project.environment ? { environment: project.environment.name } : {}),
    state: { lineage: state.lineage, serial: state.serial },
    config_digest: configDigest(project),
    // A plan on net counts is never sent: it cannot be saved (plan --out refuses) and
    // apply always reads the state database.
    applyable: !blocked && resources.errors.length === 0,
    targets: [...options.targets],
    allow_removals: options.allowRemovals,
    errors: [...resources.errors],
    warnings: [...pendingWarning(ctx.pendingApply), ...netCountsWarning(ctx.backend, state.serial), ...resources.warnings, ...readBackWarning(cost)],
    summary: summarize(cohorts),
    cost,
    ...warehouseCosts(ctx.sources),
    cohorts,
    ...(sets.length > 0 ? { sets } : {}),
  };
  return { plan, state, decisions: new Map(resources.decisions.map((d) => [d.address, d])), deltas };
}

/** What each warehouse source reported processing for this plan (the cost line's bytes). */
function warehouseCosts(sources: ReadonlyMap<string, Source>): { warehouse?: WarehouseCost[] } {
  const costs = [...sources.values()].flatMap((source) => {
    const processed = source.processed?.();
    return processed ? [{ source: source.name, type: source.type, bytes_processed: processed.bytes, queries: processed.queries }] : [];
  });
  return costs.length > 0 ? { warehouse: costs } : {};
}

async function planCohort(ctx: PlanContext, decision: ResourceDecision): Promise<PlannedCohort> {
  const { project, engine } = ctx;
  const prior = decision.prior;
  // Re-targeted cohorts start empty in the new workspace: every member is an addition there.
  const retarget = isRetarget(decision.changed);
  if (decision.cohort && !retarget && ctx.options.pushDown !== false) {
    const pushed = await planPushedDown(ctx, decision);
    if (pushed) return pushed;
  }
  let desired: string | undefined;
  let rows: number | null = null;
  let rejected = noRejections();
  let diff: string | undefined;
  let extracted: ExtractedMembers | undefined;
  if (decision.cohort) {
    const cohort = decision.cohort;
    const model = project.models.get(cohort.model)!;
    ctx.onEvent?.({ type: "model", address: decision.address, model: model.name });
    extracted = await extractMembers(engine, ctx.sources.get(model.source)!, model, project.identifiers.get(cohort.identifier)!);
    desired = extracted.table;
    rows = extracted.rows;
    diff = modelDiff(project, decision);
  }
  // The recorded snapshot is loaded only once the model's members are extracted (as the
  // grouped path does): the two never sit beside the model's raw rows and the extraction's
  // hash table, which held a 10M-member plan over DuckDB's memory limit.
  let snapshot: string | undefined;
  let inPlace: string | undefined;
  const membersKnown = ctx.backend.membersUnavailable === undefined;
  if (prior && prior.members.count > 0 && membersKnown) {
    ctx.onEvent?.({ type: "snapshot", address: decision.address });
    // Read where it lies when it is byte for byte what was recorded: no copy of every
    // recorded key beside the desired ones and the diff's hash table (a re-target's
    // removals are read later, by apply: those are loaded).
    if (!retarget) inPlace = await ctx.backend.snapshotInPlace?.(decision.address, expectedSnapshot(prior));
    snapshot = inPlace ?? (await ctx.backend.loadSnapshot(engine, decision.address, expectedSnapshot(prior)));
  }
  const computed = await diffMembership(engine, extracted?.keys, retarget ? undefined : snapshot).catch(async (error: unknown) => {
    // The file went away or changed since it was hashed: loading it names what is wrong.
    if (inPlace !== undefined && prior) await ctx.backend.loadSnapshot(engine, decision.address, expectedSnapshot(prior));
    throw error;
  });
  if (extracted) rejected = withDuplicates(extracted, computed.desiredMembers);
  const delta = membersKnown || retarget ? computed : netDelta(computed, prior?.members.count ?? 0);
  // Removals go to the workspace being left, when the config still reaches it (another destination name).
  const retargetRemovals = leavesReachableWorkspace(decision) && snapshot ? snapshot : undefined;
  return finishCohort(ctx, decision, { rows, rejected, diff, delta, retargetRemovals, desired });
}

/**
 * A re-target to another destination name: the old one is still configured and
 * its members are removed there. A re-target under the same name (its endpoint or
 * partner changed) cannot reach the old workspace any more.
 */
function leavesReachableWorkspace(decision: ResourceDecision): boolean {
  if (decision.before === null || decision.after === null) return false;
  // A new binding inside the same destination (another attribute): the old one is reachable.
  if (decision.changed.includes("target")) return true;
  return decision.changed.includes("destination") && decision.before.destination !== decision.after.destination;
}

/** The diff pushed down into PostgreSQL, when model and state share a database. */
async function planPushedDown(ctx: PlanContext, decision: ResourceDecision): Promise<PlannedCohort | undefined> {
  const cohort = decision.cohort!;
  const model = ctx.project.models.get(cohort.model)!;
  const pushed = await tryPushDown(ctx.engine, ctx.backend, ctx.sources.get(model.source)!, model, ctx.project.identifiers.get(cohort.identifier)!, decision.prior);
  if (!pushed) return undefined;
  ctx.onEvent?.({ type: "pushed_down", address: decision.address });
  const diff = sqlDiff(model.name, decision.prior?.model.sql, model.sql);
  return finishCohort(ctx, decision, { rows: pushed.rows, rejected: pushed.rejected, diff, delta: pushed.delta, retargetRemovals: undefined, desired: undefined });
}

type PlannedCohort = { cohortPlan: CohortPlan; delta: MembershipDelta & { desiredTable: string | undefined } };

/** Counts, guards and samples from a computed delta: shared by the embedded and pushed-down paths. */
async function finishCohort(
  ctx: PlanContext,
  decision: ResourceDecision,
  computed: { rows: number | null; rejected: CohortPlan["rejected"]; diff: string | undefined; delta: MembershipDelta; retargetRemovals: string | undefined; desired: string | undefined },
): Promise<PlannedCohort> {
  const { engine } = ctx;
  const { rows, rejected, diff, delta, retargetRemovals, desired } = computed;
  const prior = decision.prior;
  const isDelete = decision.cohort === undefined;
  const retarget = isRetarget(decision.changed);
  const before = prior?.members.count ?? 0;
  const after = isDelete ? 0 : delta.add + (retarget ? 0 : before - delta.remove);
  // On re-target the old workspace loses every recorded member — if coho can still reach it.
  const members = { before, after, add: delta.add, remove: retarget ? (leavesReachableWorkspace(decision) ? before : 0) : delta.remove };
  const guards = evaluateGuards({ address: decision.address, isDelete, cohort: decision.cohort, prior, members, allowRemovals: ctx.options.allowRemovals });
  const refresh = await planRefresh(ctx, decision, delta, retarget);
  const membershipChanges = members.add > 0 || members.remove > 0;
  const actions = decision.actions[0] === "no-op" && (membershipChanges || refresh) ? (["update"] as const) : decision.actions;
  const changed = membershipChanges && !isDelete ? [...decision.changed, "members" as const] : decision.changed;
  const show = ctx.options.showMembers;
  const removeTable = retargetRemovals ?? delta.removeTable;
  const planned = { actions: [...actions], changed_attributes: changed, before: decision.before, after: decision.after, members };
  const refused = prior?.refused;
  const unconfirmed = prior?.unconfirmed;
  const pendingText =
    (refused ? `; Braze refused ${refused} member(s) last time: sent again` : "") +
    (unconfirmed ? `; ${unconfirmed} member(s) sent last time are not confirmed in Braze (no profile yet): sent again until Braze confirms them` : "");
  const identifier = decision.cohort ? ctx.project.identifiers.get(decision.cohort.identifier) : undefined;
  const byIdentifier = identifier?.type === "first_of" && desired !== undefined ? await membersByIdentifier(engine, desired, identifier) : undefined;
  const cohortPlan: CohortPlan = {
    address: decision.address,
    actions: [...actions],
    reason: reasonFor(decision, membershipChanges, members) + pendingText,
    ...(decision.movedFrom ? { moved_from: decision.movedFrom } : {}),
    before: decision.before,
    after: decision.after,
    changed_attributes: changed,
    members,
    rows,
    rejected,
    guards,
    cost: cohortCost(ctx.project.destinations, refresh ? { ...planned, members: { ...members, add: members.add + refresh.members } } : planned),
    ...(refused ? { refused_last_apply: refused } : {}),
    ...(unconfirmed ? { unconfirmed_last_apply: unconfirmed } : {}),
    ...(refresh ? { refresh: { members: refresh.members, reason: refresh.reason, cost: refresh.cost } } : {}),
    ...(byIdentifier ? { members_by_identifier: byIdentifier } : {}),
    ...(diff ? { sql_diff: diff } : {}),
    ...dbtPart(ctx, decision),
    ...(show > 0 ? { samples: { add: await sampleKeys(engine, delta.addTable, show), remove: await sampleKeys(engine, removeTable, show) } } : {}),
    ...setOf(decision),
  };
  const addTable = refresh?.addTable ?? delta.addTable;
  return { cohortPlan, delta: { ...delta, addTable, add: members.add + (refresh?.members ?? 0), removeTable, remove: members.remove, desiredTable: desired } };
}

/** Desired members per identifier of a list, in the list's order: each key's prefix says which identifier named it. */
async function membersByIdentifier(engine: DuckDbEngine, desired: string, identifier: Extract<IdentifierConfig, { type: "first_of" }>): Promise<Record<string, number>> {
  const counts = identifier.parts.map((p) => `count(*) FILTER (WHERE starts_with(key, ${literal(keyPrefix(p))}))`).join(", ");
  const row = (await engine.connection.runAndReadAll(`SELECT ${counts} FROM ${desired} AS coho_desired`)).getRows()[0] ?? [];
  return Object.fromEntries(identifier.parts.map((p, i) => [p.name, Number(row[i] ?? 0)]));
}

/** The model's SQL diff since the last apply, for cohorts that still exist. */
function modelDiff(project: Project, decision: ResourceDecision): string | undefined {
  if (!decision.cohort) return undefined;
  const model = project.models.get(decision.cohort.model)!;
  return sqlDiff(model.name, decision.prior?.model.sql, model.sql);
}

/** An instance whose set is still declared is deleted because its key value vanished: say so. */
function explainInstanceDelete(project: Project, decision: ResourceDecision): ResourceDecision {
  const parsed = parseAddress(decision.address);
  if (decision.cohort || parsed?.instance === undefined || !project.cohorts.get(parsed.cohort)?.forEach) return decision;
  const reason = `key value ${JSON.stringify(parsed.instance)} is no longer among the set's key values (the model stopped returning it, or keys: leaves it out): ${decision.prior ? deleteEffect(decision.prior) : "every member is removed, then the cohort is forgotten"}`;
  return { ...decision, reason };
}

/** An instance names its set (also when deleted: the set is read from its address). */
function setOf(decision: ResourceDecision): Pick<CohortPlan, "set"> {
  const parsed = parseAddress(decision.address);
  if (parsed?.instance === undefined) return {};
  return { set: { address: `cohorts.${parsed.cohort}`, key: parsed.instance } };
}

/**
 * Without the recorded members only the net change is known: desired members
 * against the recorded count. Shown as adds or removes so guards still judge it.
 */
function netDelta(delta: MembershipDelta, before: number): MembershipDelta {
  const desired = delta.add;
  return { ...delta, add: Math.max(0, desired - before), remove: Math.max(0, before - desired) };
}

function netCountsWarning(backend: StateBackend, serial: number): string[] {
  if (backend.membersUnavailable === undefined) return [];
  const mirror = backend.mirrorLockfile ?? "coho.lock";
  return [
    `${backend.membersUnavailable}: this plan reads the committed ${mirror} (serial ${serial}), which records member counts but no members, so membership changes are net counts (a member swapped for another shows as no change) and cohorts applied since that ${mirror} was committed are not seen. It is for review only: apply plans again against the state database.`,
  ];
}

function dbtPart(ctx: PlanContext, decision: ResourceDecision): { dbt?: CohortPlan["dbt"]; dbt_refs?: CohortPlan["dbt_refs"] } {
  const model = decision.cohort ? ctx.project.models.get(decision.cohort.model) : undefined;
  const dbt = model ? dbtModelPlan(model, decision.prior) : undefined;
  const refs = model && decision.prior ? dbtRefChanges(model, decision.prior.model) : [];
  return { ...(dbt ? { dbt } : {}), ...(refs.length > 0 ? { dbt_refs: refs } : {}) };
}

/** Work in the journal, and who holds the state lock for an apply right now (if anyone). */
export interface PendingApply {
  readonly cohorts: number;
  readonly batches: number;
  /** Set when an apply holds the lock now: its journal is work in progress, not an interruption. */
  readonly runningBy?: string;
}

/** Read-backs longer than this get a warning: at that size the default is a choice worth making on purpose. */
const READ_BACK_WARNING_SECONDS = 3600;

/**
 * missing_profiles: wait (the default on the attribute road) confirms every addition
 * through /users/export/ids, whose limit (250 a minute) is far below /users/track's:
 * on a first load it, not the sends, is what the apply waits for. Say so plainly.
 */
function readBackWarning(cost: CostEstimate): string[] {
  const requests = cost.read_back_requests ?? 0;
  const seconds = readBackSeconds(requests);
  if (seconds < READ_BACK_WARNING_SECONDS) return [];
  return [
    `confirming additions takes ${groupDigits(requests)} read-back requests (/users/export/ids, 250 a minute): about ${formatDuration(Math.round(seconds / 60) * 60_000)} of this apply. missing_profiles: wait (the default) reads back every addition; for a first load where every member has a Braze profile, missing_profiles: ignore skips the read-back, and missing_profiles: create lets Braze create the profiles of external ids.`,
  ];
}

function pendingWarning(pending: PlanContext["pendingApply"]): string[] {
  if (!pending) return [];
  if (pending.runningBy) {
    return [`an apply is running now, by ${pending.runningBy}: this plan starts from the last recorded state, so it may show changes that apply is making at this moment. Plan again once it has finished.`];
  }
  return [
    `an earlier apply was interrupted: ${pending.batches} request(s) for ${pending.cohorts} cohort(s) have an unknown outcome. The next apply re-sends them first; this plan starts from the last recorded state, so it may show some of those changes again.`,
  ];
}

function reasonFor(decision: ResourceDecision, membershipChanges: boolean, members: { add: number; remove: number }): string {
  const membership = `membership changes: +${groupDigits(members.add)} / −${groupDigits(members.remove)}`;
  if (decision.actions[0] === "no-op") return membershipChanges ? membership : decision.reason;
  if (!membershipChanges || decision.cohort === undefined || decision.actions.includes("create") || decision.actions.includes("adopt")) return decision.reason;
  return `${decision.reason}; ${membership}`;
}

function summarize(cohorts: readonly CohortPlan[]): PlanSummary {
  const count = (action: string) => cohorts.filter((c) => c.actions.includes(action as never)).length;
  return {
    create: count("create"),
    adopt: count("adopt"),
    update: count("update"),
    delete: count("delete"),
    move: count("move"),
    no_op: count("no-op"),
    members_add: cohorts.reduce((n, c) => n + c.members.add, 0),
    members_remove: cohorts.reduce((n, c) => n + c.members.remove, 0),
  };
}

/**
 * A refresh: the additions of every recorded member that stays, sent again (the
 * same values, so idempotent) so users whose Braze profile appeared since get
 * the attribute. Asked for by `--refresh`, or by `refresh_every` once that long
 * has passed since the cohort was last sent whole. The delta's addition table
 * becomes additions ∪ (recorded − removals); the plan counts the refresh apart.
 * Not for deletes, re-targets (they send every member anyway), net-count plans
 * (no snapshot to read), or cohorts without recorded members.
 */
async function planRefresh(
  ctx: PlanContext,
  decision: ResourceDecision,
  delta: MembershipDelta,
  retarget: boolean,
): Promise<{ members: number; reason: string; cost: CostEstimate; addTable: string } | undefined> {
  const prior = decision.prior;
  const cohort = decision.cohort;
  if (!cohort || !prior || retarget || prior.members.count === 0 || ctx.backend.membersUnavailable !== undefined) return undefined;
  const now = ctx.now?.() ?? new Date();
  const since = prior.refreshed_at ?? prior.applied_at;
  const due = cohort.refreshEveryMs !== undefined && now.getTime() - Date.parse(since) >= cohort.refreshEveryMs;
  const found = ctx.options.repair?.get(decision.address);
  const whole = ctx.options.refresh === true || due;
  if (!whole && !(found && found.keys.length > 0)) return undefined;
  const reason = ctx.options.refresh
    ? "--refresh: every recorded member's addition is sent again, so users whose Braze profile was created since they joined get it"
    : due
      ? `refresh_every ${formatDuration(cohort.refreshEveryMs!)}: last sent whole ${since}; every recorded member's addition is sent again, so users whose Braze profile was created since get it`
      : `--refresh-from-braze: ${found!.keys.length} of ${found!.sampled} recorded member(s) read back no longer hold what coho wrote (changed ${found!.reasons.changed}, absent in Braze ${found!.reasons.absent}, evicted ${found!.reasons.evicted}); their additions are sent again`;
  const recorded = await ctx.backend.loadSnapshot(ctx.engine, decision.address, expectedSnapshot(prior));
  const drifted = whole ? undefined : await keysTable(ctx.engine, found!.keys);
  const addTable = `memory.main.${ctx.engine.tempTable("refresh_add")}`;
  try {
    // Recorded members that stay (and, for a repair, only those read back drifted), beside the additions.
    const resent = `SELECT key FROM ${recorded} ${drifted ? `SEMI JOIN ${drifted} AS d USING (key) ` : ""}ANTI JOIN ${delta.removeTable} AS r USING (key)`;
    await ctx.engine.connection.run(`CREATE TABLE ${addTable} AS SELECT key FROM ${delta.addTable} UNION ALL (${resent})`);
  } finally {
    await ctx.engine.drop(recorded, ...(drifted ? [drifted] : []));
  }
  const reader = await ctx.engine.connection.runAndReadAll(`SELECT count(*) AS n FROM ${addTable}`);
  const members = Number(reader.getRowObjects()[0]?.n ?? 0) - delta.add;
  if (members <= 0) {
    await ctx.engine.drop(addTable);
    return undefined;
  }
  const config = ctx.project.destinations.get(cohort.destination);
  const cost = config ? estimateCost(config, { prepare: false, sends: [{ add: members, remove: 0 }] }) : { requests: 0, attribute_updates: 0, seconds: 0 };
  return { members, reason, cost, addTable };
}

/** A work table (column `key`) holding `keys`. */
async function keysTable(engine: DuckDbEngine, keys: readonly string[]): Promise<string> {
  const name = engine.tempTable("repair_keys");
  await engine.connection.run(`CREATE TABLE memory.main.${name} (key VARCHAR)`);
  const appender = await engine.connection.createAppender(name, "main", "memory");
  try {
    for (const key of keys) {
      appender.appendVarchar(key);
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
  return `memory.main.${name}`;
}
