import type { MemberRefusal, MergedBatch, MergedUser } from "../destinations/destination.js";
import type { CohortPlan } from "../model/plan.js";
import { apportion, mergedUsersSql } from "../plan/request-groups.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { CohortRun } from "./cohort-run.js";
import type { ExecutablePlan, ExecuteContext } from "./execute-plan.js";
import type { CohortReport } from "./report.js";

/**
 * Carries out a request group (plan/request-groups.ts): cohorts whose changes
 * share requests, one object per user. Crash guarantees stay per cohort: before
 * a shared request is sent, each cohort with members in it journals its own
 * `batch` (its own seq, only its members); after the answer, each journals its
 * own `ack`, with the users Braze refused by index mapped back to it. An
 * interrupted apply then resends each unknown part alone — the same values for
 * the same users, so idempotent — and fold needs no notion of groups.
 *
 * Counting: the group's real requests are apportioned to its cohorts by the users
 * each owns (the first cohort, in address order, that changes the user), as the
 * plan's cost estimate does, so the totals line is what was sent.
 */
export async function executeGroup(ctx: ExecuteContext, planned: ExecutablePlan, cohorts: readonly CohortPlan[]): Promise<CohortReport[]> {
  const runs = cohorts.map((cohort) => new CohortRun(ctx, planned, cohort));
  if (ctx.shouldStop()) return runs.map((run) => run.report("skipped"));
  const owned = runs.map(() => 0);
  let requests = 0;
  const share = () => apportion(requests, owned).forEach((n, i) => (runs[i]!.requests += n));
  try {
    for (const run of runs) await run.begin();
    // Only the first cohort reads the client's retries: a shared request's retries count once.
    for (const run of runs.slice(1)) run.leaveRetriesToOthers();
    const client = runs[0]!.client(runs[0]!.after.destination);
    if (!client.syncMerged) throw new Error(`destination ${runs[0]!.after.destination} cannot share requests between cohorts`);
    const seqs = new Map<number, number[]>();
    const result = await client.syncMerged(runs.map((run) => ({ cohortId: run.cohortId, target: run.after.target })), mergedUsers(ctx.engine, runs), {
      beforeSend: async (batch: MergedBatch) => {
        const parts = partsOf(batch, runs.length);
        // Sequence numbers are taken before any await: concurrent batches never share one.
        const mine = parts.map((part, i) => (part.add.length + part.remove.length > 0 ? runs[i]!.seq++ : -1));
        seqs.set(batch.index, mine);
        for (const [i, part] of parts.entries()) if (mine[i]! >= 0) await runs[i]!.journalBatch(mine[i]!, runs[i]!.after, part.add, part.remove);
      },
      acknowledged: async (batch: MergedBatch, refused: readonly MemberRefusal[]) => {
        const parts = partsOf(batch, runs.length);
        const mine = seqs.get(batch.index)!;
        seqs.delete(batch.index);
        requests++;
        for (const user of batch.users) owned[ownerOf(user)]! += 1;
        for (const [i, part] of parts.entries()) {
          if (mine[i]! < 0) continue;
          const members = new Set([...part.add, ...part.remove]);
          const adds = new Set(part.add);
          // An unconfirmed user is only an unconfirmed addition: its removals from other cohorts went through.
          await runs[i]!.acknowledge(mine[i]!, part.add, part.remove, refused.filter((r) => (r.unconfirmed ? adds.has(r.key) : members.has(r.key))));
        }
      },
      shouldStop: ctx.shouldStop,
    });
    share();
    const reports: CohortReport[] = [];
    for (const run of runs) reports.push(await run.end(result.stopped));
    return reports;
  } catch (error) {
    // A request Braze answered (with a refusal) was still a request: count it.
    if (typeof (error as { status?: unknown }).status === "number") requests++;
    share();
    return runs.map((run) => run.fail(error));
  }
}

/** Each cohort's members in one shared request: those it adds and those it removes. */
export function partsOf(batch: MergedBatch, count: number): { add: string[]; remove: string[] }[] {
  const parts = Array.from({ length: count }, () => ({ add: [] as string[], remove: [] as string[] }));
  for (const user of batch.users) {
    for (const i of user.add) parts[i]!.add.push(user.key);
    for (const i of user.remove) parts[i]!.remove.push(user.key);
  }
  return parts;
}

function ownerOf(user: MergedUser): number {
  return Math.min(...user.add, ...user.remove);
}

/** The group's changed users, one row each, streamed from DuckDB in key order. */
async function* mergedUsers(engine: DuckDbEngine, runs: readonly CohortRun[]): AsyncGenerator<MergedUser> {
  const sql = mergedUsersSql(runs.map((run) => ({ add: run.isDelete ? undefined : run.delta.addTable, remove: run.delta.removeTable })));
  const indexes = (text: string | undefined) => (text ? text.split(",").map(Number) : []);
  for await (const rows of engine.textRows(sql)) {
    for (const [key, adds, removes] of rows) yield { key: key!, add: indexes(adds), remove: indexes(removes) };
  }
}
