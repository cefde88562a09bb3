import type { MemberRefusal, MembershipBatch } from "../destinations/destination.js";
import { isRetarget, type CohortAttributes, type CohortPlan, type Plan } from "../model/plan.js";
import type { Project } from "../model/project.js";
import type { StateView } from "../model/state.js";
import type { MembershipDelta } from "../plan/membership-diff.js";
import { requestGroups } from "../plan/request-groups.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { DestinationClients } from "../destinations/clients.js";
import type { ApplyEventListener } from "./events.js";
import type { JournalStore } from "../state/journal.js";
import type { CohortReport } from "./report.js";
import { CohortRun } from "./cohort-run.js";
import { executeGroup } from "./execute-group.js";
import { KeyChunks } from "../destinations/shared/pack-batches.js";

export interface ExecuteContext {
  readonly project: Project;
  readonly engine: DuckDbEngine;
  readonly clients: DestinationClients;
  readonly journal: JournalStore;
  readonly now: () => Date;
  readonly onEvent?: ApplyEventListener;
  /** True once SIGINT/SIGTERM asked to stop: no new batch starts. */
  readonly shouldStop: () => boolean;
  /** Told of an error after which no state can be recorded (set by executePlan itself). */
  readonly onStateFailure?: (error: unknown) => void;
  /** Cohorts worked on at once. Default 4. */
  readonly cohortConcurrency?: number;
}

/** A plan with its deltas as engine tables, fresh or loaded from a saved plan file. */
export interface ExecutablePlan {
  readonly plan: Plan;
  readonly state: StateView;
  readonly deltas: ReadonlyMap<string, Pick<MembershipDelta, "addTable" | "removeTable">>;
}

/**
 * Carries out a plan: per cohort, the cohort upsert, then membership batches,
 * each journaled before it is sent and acknowledged after. Cohorts proceed
 * concurrently (a request group as one unit, see plan/request-groups.ts); one
 * cohort's failure does not stop the others. State is not written here: the
 * caller folds the journal afterwards.
 *
 * Leaves before joins, across every cohort: two cohorts' requests write one
 * binding (an attribute) only when one leaves what the other joins — a
 * re-target away from an attribute another cohort joins, two cohorts swapping
 * attributes, a removed cohort's attribute taken over. Sent concurrently, a
 * leave landing after the join would clear it. So the work runs in three
 * phases, each finished before the next starts (see `phasesOf`).
 */
export async function executePlan(outer: ExecuteContext, planned: ExecutablePlan): Promise<CohortReport[]> {
  // A state failure (journal not writable, lock lost) stops every cohort at once:
  // nothing may be sent that cannot be recorded. It is thrown once all in-flight work ended.
  let fatal: unknown;
  const ctx: ExecuteContext = {
    ...outer,
    shouldStop: () => fatal !== undefined || outer.shouldStop(),
    onStateFailure: (error: unknown) => (fatal ??= error),
  };
  const reports: CohortReport[] = [];
  for (const phase of phasesOf(ctx, planned)) reports.push(...(await runConcurrently(phase, Math.max(1, ctx.cohortConcurrency ?? 4))));
  if (fatal !== undefined) throw fatal;
  return reports.sort((a, b) => (a.address < b.address ? -1 : 1));
}

/** A piece of work of one phase: the reports of the cohorts it finished. */
type Step = () => Promise<CohortReport[]>;

/**
 * The plan's work in three phases:
 * 1. leaves only: the old side of every re-target, and every cohort (or delete)
 *    that only removes members;
 * 2. the other cohorts, alone or as request groups (one object per user, where
 *    a join of one cohort wins over a leave of another on the same attribute);
 * 3. the new side of every re-target.
 * A leave in phase 1 or 2 thus lands before any join on the same binding in a
 * later phase, and within phase 2 the only leaves that can meet a join of
 * another cohort on one attribute share its request group.
 */
export function phasesOf(ctx: ExecuteContext, planned: ExecutablePlan): [Step[], Step[], Step[]] {
  const phases: [Step[], Step[], Step[]] = [[], [], []];
  const work = planned.plan.cohorts.filter((c) => !(c.actions.length === 1 && c.actions[0] === "no-op"));
  // Cohorts that share requests (one object per user) run as one unit; the others alone.
  const groups = requestGroups(ctx.project.destinations, work);
  const grouped = new Set(groups.flat().map((c) => c.address));
  for (const group of groups) phases[1].push(() => executeGroup(ctx, planned, group));
  for (const cohort of work.filter((c) => !grouped.has(c.address))) {
    if (movesBinding(cohort)) {
      const steps = retargetSteps(ctx, planned, cohort);
      phases[0].push(steps.leave);
      phases[2].push(steps.join);
    } else {
      phases[cohort.after !== null && cohort.members.add > 0 ? 1 : 0].push(async () => [await executeCohort(ctx, planned, cohort)]);
    }
  }
  return phases;
}

/** Runs steps with at most `concurrency` under way; resolves once all of them ended. */
async function runConcurrently(steps: readonly Step[], concurrency: number): Promise<CohortReport[]> {
  const reports: CohortReport[] = [];
  let next = 0;
  const worker = async () => {
    while (next < steps.length) {
      const step = steps[next++]!;
      reports.push(...(await step()));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, steps.length)) }, worker));
  return reports;
}

/** A re-target to another destination or another binding inside it: the old side is left, the new one joined. */
function movesBinding(cohort: CohortPlan): boolean {
  const { before, after } = cohort;
  return isRetarget(cohort.changed_attributes) && before !== null && after !== null && (before.destination !== after.destination || before.target !== after.target);
}

/** Sends one side's additions and removals of a cohort, journaling each batch; true when it stopped early. */
async function sendSide(ctx: ExecuteContext, run: CohortRun, side: CohortAttributes, adds: string | undefined, removes: string | undefined): Promise<boolean> {
  const seqBase = run.seq;
  const result = await run.client(side.destination).syncMembership({ cohortId: run.cohortId, target: side.target }, flatten(ctx.engine, adds), flatten(ctx.engine, removes), {
    beforeSend: async (batch: MembershipBatch) => {
      run.seq = Math.max(run.seq, seqBase + batch.index + 1);
      await run.journalBatch(seqBase + batch.index, side, batch.add, batch.remove);
    },
    acknowledged: async (batch: MembershipBatch, refused: readonly MemberRefusal[]) => {
      await run.acknowledge(seqBase + batch.index, batch.add, batch.remove, refused);
      run.requests++;
    },
    shouldStop: ctx.shouldStop,
  });
  return result.stopped;
}

/** The report of a cohort whose work threw. */
function failed(run: CohortRun, error: unknown): CohortReport {
  // A request Braze answered (with a refusal) was still a request: count it.
  if (typeof (error as { status?: unknown }).status === "number") run.requests++;
  return run.fail(error);
}

async function executeCohort(ctx: ExecuteContext, planned: ExecutablePlan, cohort: CohortPlan): Promise<CohortReport> {
  const run = new CohortRun(ctx, planned, cohort);
  if (ctx.shouldStop()) return run.report("skipped");
  try {
    await run.begin();
    return await run.end(await sendSide(ctx, run, run.after, run.isDelete ? undefined : run.delta.addTable, run.delta.removeTable));
  } catch (error) {
    return failed(run, error);
  }
}

/**
 * A re-target in two steps, run in different phases: leave the old side (phase
 * 1), then join the new one (phase 3). A cohort that stopped or failed while
 * leaving reports so and joins nothing.
 */
function retargetSteps(ctx: ExecuteContext, planned: ExecutablePlan, cohort: CohortPlan): { leave: Step; join: Step } {
  const run = new CohortRun(ctx, planned, cohort);
  let finished: CohortReport | undefined;
  return {
    leave: async () => {
      if (ctx.shouldStop()) finished = run.report("skipped");
      else {
        try {
          await run.begin();
          if (await sendSide(ctx, run, cohort.before!, undefined, run.delta.removeTable)) finished = await run.end(true);
        } catch (error) {
          finished = failed(run, error);
        }
      }
      return [];
    },
    join: async () => {
      if (finished) return [finished];
      try {
        return [await run.end(await sendSide(ctx, run, run.after, run.delta.addTable, undefined))];
      } catch (error) {
        return [failed(run, error)];
      }
    },
  };
}

/** A work table's keys, in DuckDB's batches (packBatches takes them an array at a time). */
export function flatten(engine: DuckDbEngine, table: string | undefined): KeyChunks {
  return new KeyChunks(table ? engine.keys(table) : []);
}
