import { randomUUID } from "node:crypto";
import type { CohortState, LockfileDoc, StateView } from "../model/state.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { StateBackend } from "../state/backend.js";
import type { JournalRecord } from "../state/journal.js";
import { canonicalJson } from "../state/canonical-json.js";
import { summarizeJournal, type AckedBatch, type JournalCohort as CohortWork } from "./journal-summary.js";
import { expectedSnapshot, snapshotFields } from "../state/snapshot-record.js";
import { foldWhereSnapshotsLive, pendingCounts, saveFoldedSnapshots, type Folded } from "./fold-snapshots.js";

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
  // The upsert is journaled before it is sent, and every batch after its answer: a
  // cohort whose record announced an upsert that the journal does not hold was
  // stopped between the two appends and never reached Braze. Recording it would
  // send members to a cohort Braze never created; its work is simply not done.
  const summary = new Map([...summarizeJournal(records)].filter(([, work]) => !(work.cohort.prepares && work.upsert === undefined)));
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
    const { snapshot, refused, unconfirmed } = saved.get(address) ?? (await foldOne(engine, backend, address, work, prior));
    const next: CohortState = {
      ...cohort.entry,
      // A rename Braze may not have received keeps the old name, so the next plan sends it again.
      name: unknownUpsert ? (cohort.prior_name ?? cohort.entry.name) : cohort.entry.name,
      ...(refused > 0 ? { refused } : {}),
      ...(unconfirmed > 0 ? { unconfirmed } : {}),
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

/** One cohort's new members (recorded ∪ acknowledged additions − acknowledged removals), saved as a snapshot. */
async function foldOne(engine: DuckDbEngine, backend: StateBackend, address: string, work: CohortWork, prior: CohortState | undefined): Promise<Folded> {
  const { cohort } = work;
  const destination = cohort.entry.destination;
  // Only batches to the cohort's current binding count: on a re-target the others went to the old one.
  const batches = work.acked.filter((b) => b.destination === destination && b.target === cohort.entry.target);
  const base = prior && !cohort.retarget ? prior : undefined;
  if (backend.foldSnapshots) return (await foldWhereSnapshotsLive(engine, backend, [{ address, cohortId: cohort.entry.cohort_id, base, batches }])).get(address)!;
  const members = await foldMembers(engine, backend, address, base, batches);
  try {
    const snapshot = await backend.saveSnapshot(engine, cohort.entry.cohort_id, `SELECT key FROM ${members}`);
    return { snapshot, ...pendingCounts(batches) };
  } finally {
    await engine.drop(members);
  }
}

/**
 * Equal in everything but the time it was applied and the snapshot file's hash:
 * the same members rewritten to the same file name are the same state (the serial
 * must not move), whether the recorded hash is absent (an older coho's entry) or
 * the new bytes differ; a stale hash only makes the next read check the member digest.
 */
function sameEntry(a: CohortState, b: CohortState): boolean {
  const { applied_at: _a, snapshot_sha256: _ha, ...left } = a;
  const { applied_at: _b, snapshot_sha256: _hb, ...right } = b;
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
  // An unconfirmed addition (no Braze profile) is no member, whatever state said before.
  const removes = await keysTable(engine, batches.flatMap((b) => [...accepted(b.remove, b.refused), ...b.unconfirmed]));
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
