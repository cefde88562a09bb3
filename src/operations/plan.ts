import { refuseNonRegularTarget } from "../util/output-target.js";
import { summarizeJournal } from "../apply/journal-summary.js";
import type { Plan } from "../model/plan.js";
import type { Project } from "../model/project.js";
import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import { CohoError } from "../model/errors.js";
import { buildPlan, type PendingApply, type PlannedChanges, type RepairFound } from "../plan/build-plan.js";
import { DestinationClients } from "../destinations/clients.js";
import { readDrift } from "./verify.js";
import { describeLock } from "../state/lock-holder.js";
import { isStale } from "../state/local-lock.js";
import { hidePendingCohortIds } from "../model/pending-cohort-ids.js";
import { writePlanFile } from "../plan/plan-file.js";
import { openSession, type Session } from "../plan/session.js";
import type { StateBackend } from "../state/backend.js";
import type { EventSink } from "./events.js";
import { cohortSeries, type CohortSeries } from "../model/size-history.js";

export interface PlanRequest {
  readonly project: Project;
  /** Plan only these cohort addresses; the plan is then partial. */
  readonly targets?: readonly string[];
  /** Override the removal guards (allow_empty, max_removals). */
  readonly allowRemovals?: boolean;
  /** Also send again the additions of every recorded member (idempotent): profiles created since get the attribute. */
  readonly refresh?: boolean;
  /**
   * Read `sample` recorded members per cohort back from Braze (as `verify` does)
   * and plan the drifted ones' additions again, so the next apply repairs them.
   * Needs the destinations' keys; Braze is only read.
   */
  readonly refreshFromBraze?: { readonly sample: number };
  /** Sample member keys per cohort (PII); 0, the default, includes none. */
  readonly showMembers?: number;
  /** Diff inside PostgreSQL when model and state share a database (default true). */
  readonly pushDown?: boolean;
  /** Absolute path: save the plan with its exact member deltas for a later apply. */
  readonly out?: string;
  readonly memoryLimit?: string;
  readonly onEvent?: EventSink;
  /**
   * Also read each cohort's recorded applies (the newest `last`), for charts
   * of size over time beside the plan. Reads history only; never fails the plan.
   */
  readonly history?: { readonly last: number };
}

export interface PlanResult {
  readonly plan: Plan;
  /**
   * With `history`: each cohort's points (sizes worked back from the plan's
   * `members.before` where older records lack them), or why none could be read
   * (a plan from the committed coho.lock mirror has no history).
   */
  readonly history?: { readonly series: readonly CohortSeries[] } | { readonly unavailable: string };
}

/** config + state → plan (and, with `out`, a saved plan file). Touches no Braze. */
export async function plan(request: PlanRequest): Promise<PlanResult> {
  if (request.out) checkOutputPath(request.out);
  const session = await openSession(request.project, request.memoryLimit ? { memoryLimit: request.memoryLimit } : {});
  try {
    const { plan, deltas } = await planInSession(session, request, await pendingApply(session.backend));
    if (request.out && session.backend.membersUnavailable) {
      // Net counts from coho.lock are for review: a saved plan must carry exact deltas.
      throw new CohoError("plan.not_saveable", `cannot save a plan made without member snapshots: ${session.backend.membersUnavailable}`, {
        hint: "set the state URL's variable to plan against the state database, or drop --out",
      });
    }
    if (request.out) await writePlanFile(request.out, plan, session.engine, deltas);
    const shown = request.out ? plan : hidePendingCohortIds(plan);
    request.onEvent?.({ type: "report", command: "plan", plan: shown });
    if (!request.history) return { plan: shown };
    return { plan: shown, history: await planHistory(session.backend, plan, request.history.last) };
  } finally {
    await session.close();
  }
}

/** Builds the plan in an open session, reporting each cohort as planned. Shared with apply. */
export async function planInSession(
  session: Session,
  request: Pick<PlanRequest, "targets" | "allowRemovals" | "showMembers" | "pushDown" | "onEvent" | "refresh" | "refreshFromBraze">,
  pending: PendingApply | null = null,
): Promise<PlannedChanges> {
  const targets = request.targets ?? [];
  if (request.onEvent) {
    const engine = await session.engine.settings();
    request.onEvent({ type: "plan_started", targets, engine: { memory_limit: engine.memoryLimit, memory_limit_from: engine.memoryLimitFrom, threads: engine.threads } });
  }
  const planned = await buildPlan({
    project: session.project,
    backend: session.backend,
    engine: session.engine,
    sources: session.sources,
    options: {
      targets,
      allowRemovals: request.allowRemovals === true,
      showMembers: request.showMembers ?? 0,
      ...(request.refresh ? { refresh: true } : {}),
      ...(request.refreshFromBraze ? { repair: await readBackDrift(session, targets, request.refreshFromBraze.sample) } : {}),
      ...(request.pushDown === undefined ? {} : { pushDown: request.pushDown }),
    },
    pendingApply: pending,
  });
  for (const cohort of planned.plan.cohorts) {
    request.onEvent?.({
      type: "cohort_planned",
      address: cohort.address,
      actions: cohort.actions,
      members: cohort.members,
      rejected: Object.values(cohort.rejected).reduce((a, b) => a + b, 0),
      blocked: cohort.guards.some((g) => g.status === "blocked"),
    });
  }
  return planned;
}

/** The cohorts' recorded applies, anchored on the sizes this plan starts from. */
async function planHistory(backend: StateBackend, plan: Plan, last: number): Promise<{ series: CohortSeries[] } | { unavailable: string }> {
  try {
    const records = await backend.history().list({ last });
    const anchors = new Map(plan.cohorts.map((c) => [c.moved_from ?? c.address, c.members.before]));
    return { series: cohortSeries(records, anchors) };
  } catch (error) {
    return { unavailable: error instanceof Error ? error.message : String(error) };
  }
}

/** What an apply left in the journal — interrupted, or running right now under the lock. */
async function pendingApply(backend: StateBackend): Promise<PendingApply | null> {
  const lock = await backend.currentLock();
  const runningBy = lock && lock.operation === "apply" && !isStale(lock) ? describeLock(lock) : undefined;
  const journal = backend.journal();
  try {
    const records = await journal.read();
    if (records.length === 0) return runningBy ? { cohorts: 0, batches: 0, runningBy } : null;
    const work = summarizeJournal(records);
    const batches = [...work.values()].reduce((n, w) => n + w.unknown.length + (w.upsert && !w.upsertAcked ? 1 : 0), 0);
    return { cohorts: work.size, batches, ...(runningBy ? { runningBy } : {}) };
  } finally {
    journal.close();
  }
}

/**
 * A saved plan is written after the whole plan is computed: check first that it
 * can be, so a typo in --out does not cost a full plan and end in ENOENT.
 */
function checkOutputPath(out: string): void {
  refuseNonRegularTarget(out, "--out");
  const folder = dirname(out);
  let stats;
  try {
    stats = statSync(folder);
  } catch {
    throw new CohoError("plan.out_folder_missing", `cannot save the plan to ${out}: the folder ${folder} does not exist`, { hint: "create the folder first, or give --out a path in an existing folder" });
  }
  if (!stats.isDirectory()) throw new CohoError("plan.out_folder_missing", `cannot save the plan to ${out}: ${folder} is not a folder`, { hint: "give --out a path in an existing folder" });
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new CohoError("plan.out_unwritable", `cannot save the plan to ${out}: the folder ${folder} is not writable`, { hint: "choose a writable folder for --out" });
  }
}

/**
 * `--refresh-from-braze`: a verify-style read-back of each recorded cohort (the
 * targets only, when given) whose road can read back; drifted members by address.
 */
async function readBackDrift(session: Session, targets: readonly string[], sample: number): Promise<Map<string, RepairFound>> {
  const state = await session.backend.read();
  const clients = new DestinationClients(session.project);
  const found = new Map<string, RepairFound>();
  try {
    for (const [address, entry] of Object.entries(state.cohorts).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (targets.length > 0 && !targets.includes(address)) continue;
      const config = session.project.destinations.get(entry.destination);
      if (!config || entry.members.count === 0) continue;
      const read = await readDrift(config, session.engine, session.backend, clients, address, entry, sample);
      if (read) found.set(address, { keys: read.drifted.map((d) => d.key), sampled: read.sampled.length, reasons: read.reasons });
    }
  } finally {
    await clients.close();
  }
  return found;
}
