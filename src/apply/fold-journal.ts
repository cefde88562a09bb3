import { randomUUID } from "node:crypto";
import type { CohortState, LockfileDoc, StateView } from "../model/state.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { SavedSnapshot, StateBackend } from "../state/backend.js";
import type { JournalRecord } from "../state/journal.js";
import { canonicalJson } from "../state/canonical-json.js";
import { summarizeJournal, type AckedBatch, type JournalCohort as CohortWork } from "./journal-summary.js";
import { onForks } from "../plan/on-forks.js";
import { loadSnapshots } from "../state/load-snapshots.js";
import { expectedSnapshot, snapshotFields } from "../state/snapshot-record.js";

export interface FoldResult {
  /** The new lockfile document, or undefined when nothing was folded. */
  readonly doc: LockfileDoc | undefined;
  /** Records whose fate is still unknown: kept in the journal for the next run. */
  readonly remaining: JournalRecord[];
}

/**
 * Folds the acknowledged work of a journal into state: per cohort, new members =
 * recorded members ∪ acknowledged additions − acknowledged removals (only batches
 * sent to the cohort's destination count; on a re-target the recorded members
 * were in the old workspace). New snapshots are written first, then the lockfile
 * (serial + 1), then unreferenced snapshots are pruned: a crash anywhere leaves a
 * lockfile that matches its snapshots, and folding the same journal again gives
 * the same state.
 */
export async function foldJournal(records: readonly JournalRecord[], state: StateView, backend: StateBackend, engine: DuckDbEngine, now: Date): Promise<FoldResult> {
  const cohorts: Record<string, CohortState> = { ...state.cohorts };
  const remaining: JournalRecord[] = [];
  const summary = summarizeJournal(records);
  const saved = await saveFoldedSnapshots(summary, cohorts, backend, engine);
  let changed = false;
  for (const [address, work] of summary) {
    const { cohort } = work;
    const priorAddress = cohort.moved_from && cohorts[cohort.moved_from] ? cohort.moved_from : address;
    const prior = cohorts[priorAddress];
    const unknownUpsert = work.upsert !== undefined && !work.upsertAcked;
    const keep = (folded: boolean) => {
      if (!unknownUpsert && work.unknown.length === 0) return;
      // Once folded, the state already holds this cohort at its new address and destination.
      const record = folded ? { ...cohort, retarget: false, moved_from: undefined } : cohort;
      remaining.push(record, ...(unknownUpsert && work.upsert ? [work.upsert] : []), ...work.unknown);
    };
    if (unknownUpsert && !prior) {
      keep(false); // never created for sure: nothing to record yet
      continue;
    }
    keep(!(work.forget && work.unknown.length === 0));
    if (work.forget && work.unknown.length === 0) {
      delete cohorts[priorAddress];
      delete cohorts[address];
      changed = true;
      continue;
    }
    const { snapshot, refused } = saved.get(address) ?? (await foldOne(engine, backend, address, work, prior));
    const next: CohortState = {
      ...cohort.entry,
      // A rename Braze may not have received keeps the old name, so the next plan sends it again.
      name: unknownUpsert ? (cohort.prior_name ?? cohort.entry.name) : cohort.entry.name,
      ...(refused > 0 ? { refused } : {}),
      ...snapshotFields(snapshot),
      applied_at: now.toISOString(),
    };
    // Nothing acknowledged changed this cohort (e.g. the apply failed before Braze took anything):
    // its entry stays as it was, so an apply that changed nothing does not bump the serial.
    if (prior && priorAddress === address && sameEntry(prior, next)) continue;
    delete cohorts[priorAddress];
    cohorts[address] = next;
    changed = true;
  }
  if (!changed) return { doc: undefined, remaining };
  const doc: LockfileDoc = { format: "coho-lock", version: 1, lineage: state.lineage ?? randomUUID(), serial: state.serial + 1, cohorts };
  await backend.write(doc);
  await backend.pruneSnapshots(doc);
  return { doc, remaining };
}

type Folded = { readonly snapshot: SavedSnapshot; readonly refused: number };

/** One cohort's new members (recorded ∪ acknowledged additions − acknowledged removals), saved as a snapshot. */
async function foldOne(engine: DuckDbEngine, backend: StateBackend, address: string, work: CohortWork, prior: CohortState | undefined): Promise<Folded> {
  const { cohort } = work;
  const destination = cohort.entry.destination;
  // Only batches to the cohort's current binding count: on a re-target the others went to the old one.
  const batches = work.acked.filter((b) => b.destination === destination && b.target === cohort.entry.target);
  const base = prior && !cohort.retarget ? prior : undefined;
  const members = await foldMembers(engine, backend, address, base, batches);
  try {
    const snapshot = await backend.saveSnapshot(engine, cohort.entry.cohort_id, `SELECT key FROM ${members}`);
    return { snapshot, refused: batches.reduce((n, b) => n + b.refused.length, 0) };
  } finally {
    await engine.drop(members);
  }
}

/**
 * The snapshots of every cohort the journal folds, computed together: recorded
 * members of all of them read in one scan (verified by one grouped digest),
 * acknowledged changes in one table, the new memberships in one streaming
 * statement, then each snapshot written on a fork of the engine, side by side. Only the
 * snapshots: the lockfile still switches to them in one write, after all are
 * durable. When a cohort moved onto an address the journal also holds work for,
 * its base depends on the fold order: then nothing is done here and the caller
 * folds one cohort after another, as recorded.
 */
async function saveFoldedSnapshots(summary: ReadonlyMap<string, CohortWork>, cohorts: Readonly<Record<string, CohortState>>, backend: StateBackend, engine: DuckDbEngine): Promise<Map<string, Folded>> {
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
  if (jobs.length < 2) return new Map();
  const requests = jobs.flatMap((job, slot) => (job.base && job.base.members.count > 0 ? [{ slot, address: job.address, expected: expectedSnapshot(job.base) }] : []));
  const recorded = await loadSnapshots(engine, backend, requests);
  const changes = await changesTable(engine, jobs.map((job) => job.batches));
  const folded = `memory.main.${engine.tempTable("folded")}`;
  // Streaming only (no sort, no hash over all members): recorded rows keep their scan order,
  // cohort after cohort, so a cohort's rows sit in a few row groups (plus the additions' tail)
  // and `WHERE slot = n` skips the rest; a key added twice is made unique per cohort below.
  await engine.connection.run(
    `CREATE TABLE ${folded} AS SELECT slot, key FROM (SELECT slot, key FROM ${recorded} UNION ALL SELECT slot, key FROM ${changes} WHERE NOT removed) AS u
     ANTI JOIN (SELECT slot, key FROM ${changes} WHERE removed) AS r USING (slot, key)`,
  );
  await engine.drop(recorded, changes);
  try {
    const saved = await onForks(engine, jobs.map((job, slot) => ({ job, slot })), async (fork, { job, slot }) => ({
      snapshot: await backend.saveSnapshot(fork, job.cohortId, `SELECT DISTINCT key FROM ${folded} WHERE slot = ${slot}`),
      refused: job.batches.reduce((n, b) => n + b.refused.length, 0),
    }));
    return new Map(jobs.map((job, i) => [job.address, saved[i]!]));
  } finally {
    await engine.drop(folded);
  }
}

/** Every acknowledged member change of many cohorts, in one table (slot, key, removed); members Braze refused one by one stay as they were. */
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
      }
    });
  } finally {
    appender.closeSync();
  }
  return `memory.main.${name}`;
}

/** Equal in everything but the time it was applied. */
function sameEntry(a: CohortState, b: CohortState): boolean {
  const { applied_at: _a, ...left } = a;
  const { applied_at: _b, ...right } = b;
  return canonicalJson(left) === canonicalJson(right);
}

async function foldMembers(
  engine: DuckDbEngine,
  backend: StateBackend,
  address: string,
  base: CohortState | undefined,
  batches: readonly AckedBatch[],
): Promise<string> {
  // Members Braze refused one by one were not acknowledged: they stay as they were.
  const accepted = (keys: readonly string[], refused: readonly string[]) => (refused.length === 0 ? keys : keys.filter((k) => !refused.includes(k)));
  const adds = await keysTable(engine, batches.flatMap((b) => accepted(b.add, b.refused)));
  const removes = await keysTable(engine, batches.flatMap((b) => accepted(b.remove, b.refused)));
  const snapshot = base && base.members.count > 0
    ? await backend.loadSnapshot(engine, address, expectedSnapshot(base))
    : undefined;
  const result = `memory.main.${engine.tempTable("folded")}`;
  const baseRelation = snapshot ? `SELECT key FROM ${snapshot} UNION ` : "";
  await engine.connection.run(
    `CREATE TABLE ${result} AS SELECT key FROM (${baseRelation}SELECT key FROM ${adds}) AS u ANTI JOIN ${removes} AS r USING (key)`,
  );
  await engine.drop(adds, removes, ...(snapshot ? [snapshot] : []));
  return result;
}

async function keysTable(engine: DuckDbEngine, keys: readonly string[]): Promise<string> {
  const name = engine.tempTable("journal_keys");
  await engine.connection.run(`CREATE TABLE memory.main.${name} (key VARCHAR)`);
  const appender = await engine.connection.createAppender(name, "main", "memory");
  for (const key of keys) {
    appender.appendVarchar(key);
    appender.endRow();
  }
  appender.closeSync();
  return `memory.main.${name}`;
}
