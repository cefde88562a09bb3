import type { MemberRefusal, MembershipBatch } from "../destinations/destination.js";
import type { CohortAttributes, CohortPlan, Plan } from "../model/plan.js";
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
 * concurrently (a request group as one unit, see plan/request-groups.ts); one cohort's failure does not stop the others. State is not
 * written here: the caller folds the journal afterwards.
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
  const work = planned.plan.cohorts.filter((c) => !(c.actions.length === 1 && c.actions[0] === "no-op"));
  // Cohorts that share requests (one object per user) run as one unit; the others alone.
  const groups = requestGroups(ctx.project.destinations, work);
  const grouped = new Set(groups.flat().map((c) => c.address));
  const units: (() => Promise<CohortReport[]>)[] = [
    ...groups.map((group) => () => executeGroup(ctx, planned, group)),
    ...work.filter((c) => !grouped.has(c.address)).map((cohort) => async () => [await executeCohort(ctx, planned, cohort)]),
  ];
  const reports: CohortReport[] = [];
  let next = 0;
  const worker = async () => {
    while (next < units.length) {
      const unit = units[next++]!;
      reports.push(...(await unit()));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, ctx.cohortConcurrency ?? 4) }, worker));
  if (fatal !== undefined) throw fatal;
  return reports.sort((a, b) => (a.address < b.address ? -1 : 1));
}

async function executeCohort(ctx: ExecuteContext, planned: ExecutablePlan, cohort: CohortPlan): Promise<CohortReport> {
  const run = new CohortRun(ctx, planned, cohort);
  if (ctx.shouldStop()) return run.report("skipped");
  const { delta, after } = run;
  try {
    await run.begin();
    const send = async (side: CohortAttributes, adds: string | undefined, removes: string | undefined) => {
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
    };
    let stopped: boolean;
    // A new destination or a new binding inside it (e.g. another attribute): leave the old, join the new.
    if (run.retarget && (cohort.before!.destination !== after.destination || cohort.before!.target !== after.target)) {
      stopped = (await send(cohort.before!, undefined, delta.removeTable)) || (await send(after, delta.addTable, undefined));
    } else {
      stopped = await send(after, run.isDelete ? undefined : delta.addTable, delta.removeTable);
    }
    return await run.end(stopped);
  } catch (error) {
    // A request Braze answered (with a refusal) was still a request: count it.
    if (typeof (error as { status?: unknown }).status === "number") run.requests++;
    return run.fail(error);
  }
}

/** A work table's keys, in DuckDB's batches (packBatches takes them an array at a time). */
export function flatten(engine: DuckDbEngine, table: string | undefined): KeyChunks {
  return new KeyChunks(table ? engine.keys(table) : []);
}
