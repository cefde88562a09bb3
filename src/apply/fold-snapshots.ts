import type { CohortState } from "../model/state.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { SavedSnapshot, StateBackend } from "../state/backend.js";
import { loadSnapshots } from "../state/load-snapshots.js";
import { expectedSnapshot } from "../state/snapshot-record.js";
import { formatDigest, memberDigestByGroupSql, parseDigest, partsFromRow, shiftDigest, type DigestParts } from "../state/member-digest.js";
import type { AckedBatch, JournalCohort as CohortWork } from "./journal-summary.js";

export type Folded = { readonly snapshot: SavedSnapshot; readonly refused: number; readonly unconfirmed: number };

/** Members refused one by one, and additions Braze did not confirm, over a cohort's acknowledged batches. */
export function pendingCounts(batches: readonly AckedBatch[]): { refused: number; unconfirmed: number } {
  const unconfirmed = batches.reduce((n, b) => n + b.unconfirmed.length, 0);
  return { refused: batches.reduce((n, b) => n + b.refused.length, 0) - unconfirmed, unconfirmed };
}

const EMPTY_DIGEST = formatDigest(0, 0n, 0n);
const NOTHING: DigestParts = { count: 0, hi: 0n, lo: 0n };

/**
 * The snapshots of every cohort the journal folds, computed and saved together:
 * recorded members of all of them read in one scan (verified by one grouped
 * digest), acknowledged changes in one table, the new memberships in one
 * streaming statement, then all snapshots saved with one backend call. Only the
 * snapshots: the lockfile still switches to them in one write, after all are
 * durable. When a cohort moved onto an address the journal also holds work for,
 * its base depends on the fold order: then nothing is done here and the caller
 * folds one cohort after another, as recorded.
 *
 * New digests are not computed by reading every member again: the recorded
 * members match their recorded digest (verified as they were read), so each new
 * digest is the recorded one plus the digest of the members really added (not
 * already recorded) minus that of the members really removed (recorded ones) —
 * an MD5 per changed member instead of one per member.
 */
export async function saveFoldedSnapshots(summary: ReadonlyMap<string, CohortWork>, cohorts: Readonly<Record<string, CohortState>>, backend: StateBackend, engine: DuckDbEngine): Promise<Map<string, Folded>> {
  const entries = [...summary];
  if (entries.some(([, work]) => work.cohort.moved_from !== undefined && summary.has(work.cohort.moved_from))) return new Map();
  // Without such a move, each cohort's recorded entry is the same whatever the order.
  const priorOf = (address: string, work: CohortWork) => cohorts[work.cohort.moved_from && cohorts[work.cohort.moved_from] ? work.cohort.moved_from : address];
  const jobs = entries.flatMap(([address, work]) => {
    const prior = priorOf(address, work);
    const unknownUpsert = work.upsert !== undefined && !work.upsertAcked;
    if ((work.forget && work.unknown.length === 0) || (unknownUpsert && !prior)) return [];
    const { entry, retarget } = work.cohort;
    // Only batches to the cohort's current binding count: on a re-target the others went to the old one.
    const batches = work.acked.filter((b) => b.destination === entry.destination && b.target === entry.target);
    return [{ address, cohortId: entry.cohort_id, base: prior && !retarget ? prior : undefined, batches }];
  });
  if (backend.foldSnapshots) return foldWhereSnapshotsLive(engine, backend, jobs);
  if (jobs.length < 2) return new Map();
  const requests = jobs.flatMap((job, slot) => (job.base && job.base.members.count > 0 ? [{ slot, address: job.address, expected: expectedSnapshot(job.base) }] : []));
  const recorded = await loadSnapshots(engine, backend, requests);
  const changes = await changesTable(engine, jobs.map((job) => job.batches));
  const t = (name: string) => `memory.main.${engine.tempTable(name)}`;
  const [removes, added, removed, folded] = [t("fold_removes"), t("fold_added"), t("fold_removed"), t("folded")];
  try {
    // Removal wins over addition: new members = (recorded ∪ additions) − removals.
    await engine.connection.run(`CREATE TABLE ${removes} AS SELECT DISTINCT slot, key FROM ${changes} WHERE removed`);
    // The small sides are hashed (DuckDB builds right-anti/semi joins on them), the recorded members only probed.
    await engine.connection.run(
      `CREATE TABLE ${added} AS SELECT slot, key FROM (SELECT DISTINCT slot, key FROM ${changes} WHERE NOT removed) AS a
       ANTI JOIN ${removes} AS r USING (slot, key) ANTI JOIN ${recorded} AS s USING (slot, key)`,
    );
    await engine.connection.run(`CREATE TABLE ${removed} AS SELECT slot, key FROM ${removes} SEMI JOIN ${recorded} AS s USING (slot, key)`);
    // Stored in slot order, so that each snapshot's write (`WHERE slot = n`) reads only the few
    // row groups holding its cohort (DuckDB skips the others by their min/max). The parallel
    // scan and joins above keep no order: without the sort every write read every member, and
    // a set of 2,000 instances spent most of its fold there (13 vs 2 ms of CPU a file).
    await engine.connection.run(
      `CREATE TABLE ${folded} AS SELECT slot, key FROM (SELECT slot, key FROM ${recorded} ANTI JOIN ${removed} AS r USING (slot, key) UNION ALL SELECT slot, key FROM ${added}) ORDER BY slot`,
    );
    const plus = await digestsBySlot(engine, added);
    const minus = await digestsBySlot(engine, removed);
    await engine.drop(recorded, changes, removes, added, removed);
    const digests = jobs.map((job, slot) => shiftDigest(job.base?.members.digest ?? EMPTY_DIGEST, plus.get(slot) ?? NOTHING, minus.get(slot) ?? NOTHING));
    const saved = await backend.saveSnapshots(engine, folded, jobs.map((job, slot) => ({ slot, cohortId: job.cohortId, count: parseDigest(digests[slot]!).count, digest: digests[slot]! })));
    return new Map(jobs.map((job, i) => [job.address, { snapshot: saved[i]!, ...pendingCounts(job.batches) }]));
  } finally {
    await engine.drop(recorded, changes, removes, added, removed, folded);
  }
}

/** The job shape both fold paths share: a cohort, its recorded base (none on a re-target) and its acknowledged batches. */
export interface FoldTarget {
  readonly address: string;
  readonly cohortId: string;
  readonly base: CohortState | undefined;
  readonly batches: readonly AckedBatch[];
}

/**
 * Every job's new snapshot built where the snapshots live (StateBackend.foldSnapshots):
 * only the acknowledged changes leave this process, the recorded members are never read.
 */
export async function foldWhereSnapshotsLive(engine: DuckDbEngine, backend: StateBackend, jobs: readonly FoldTarget[]): Promise<Map<string, Folded>> {
  if (jobs.length === 0) return new Map();
  const changes = await changesTable(engine, jobs.map((job) => job.batches));
  try {
    const saved = await backend.foldSnapshots!(engine, changes, jobs.map((job, slot) => ({
      slot,
      cohortId: job.cohortId,
      base: job.base && job.base.members.count > 0 ? expectedSnapshot(job.base) : undefined,
    })));
    return new Map(jobs.map((job, i) => [job.address, { snapshot: saved[i]!, ...pendingCounts(job.batches) }]));
  } finally {
    await engine.drop(changes);
  }
}

async function digestsBySlot(engine: DuckDbEngine, table: string): Promise<Map<number, DigestParts>> {
  const rows = await engine.connection.runAndReadAll(memberDigestByGroupSql(`SELECT slot, key FROM ${table}`, "slot"));
  return new Map(rows.getRows().map(([slot, ...parts]) => [Number(slot), partsFromRow(parts)]));
}

/**
 * Every acknowledged member change of many cohorts, in one table (slot, key,
 * removed); members Braze refused one by one stay as they were. An unconfirmed
 * addition (no Braze profile) is a removal: whatever state said, Braze does not
 * hold that member (a re-sent recorded member whose profile is gone leaves state).
 */
async function changesTable(engine: DuckDbEngine, batchesBySlot: readonly (readonly AckedBatch[])[]): Promise<string> {
  const name = engine.tempTable("journal_changes");
  await engine.connection.run(`CREATE TABLE memory.main.${name} (slot INTEGER, key VARCHAR, removed BOOLEAN)`);
  const appender = await engine.connection.createAppender(name, "main", "memory");
  try {
    batchesBySlot.forEach((batches, slot) => {
      for (const batch of batches) {
        const refused = new Set(batch.refused);
        for (const [keys, removed] of [[batch.add, false], [batch.remove, true]] as const) {
          for (const key of keys) {
            if (refused.has(key)) continue;
            appender.appendInteger(slot);
            appender.appendVarchar(key);
            appender.appendBoolean(removed);
            appender.endRow();
          }
        }
        for (const key of batch.unconfirmed) {
          appender.appendInteger(slot);
          appender.appendVarchar(key);
          appender.appendBoolean(true);
          appender.endRow();
        }
      }
    });
  } finally {
    appender.closeSync();
  }
  return `memory.main.${name}`;
}
