import { literal, type DuckDbEngine } from "../sources/duckdb-engine.js";
import type { StateBackend } from "../state/backend.js";
import { loadSnapshots, snapshotsInPlace, type SnapshotRequest } from "../state/load-snapshots.js";
import type { MembershipDelta } from "./membership-diff.js";

/** One cohort's side of a grouped diff. */
export interface DiffSlot {
  readonly slot: number;
  /** The group (key value) of the desired table this cohort wants; undefined: it wants nobody (a delete). */
  readonly group: string | undefined;
  /** Its recorded snapshot; undefined: it has no members yet. */
  readonly snapshot: Omit<SnapshotRequest, "slot"> | undefined;
}

/**
 * The membership diff of many cohorts in one pass: desired members (k, key;
 * a key may repeat within its group) are matched to cohorts by group, all snapshots are loaded into one table, and
 * one statement finds every cohort's additions and removals (its shape depends on
 * whether cohorts share a group, see below). Per cohort, the add and remove
 * "tables" are filtered views of the one result.
 */
export async function diffGrouped(engine: DuckDbEngine, backend: StateBackend, desired: string | undefined, slots: readonly DiffSlot[]): Promise<Map<number, MembershipDelta>> {
  const connection = engine.connection;
  const wanted = slots.filter((s) => s.group !== undefined);
  const slotTable = `memory.main.${engine.tempTable("slots")}`;
  await connection.run(`CREATE TABLE ${slotTable} (slot INTEGER, k VARCHAR)`);
  if (wanted.length > 0) await connection.run(`INSERT INTO ${slotTable} VALUES ${wanted.map((s) => `(${s.slot}, ${literal(s.group!)})`).join(", ")}`);
  const requests = slots.flatMap((s) => (s.snapshot ? [{ ...s.snapshot, slot: s.slot }] : []));
  // Read where they lie when their bytes are the recorded ones, else loaded and verified.
  const inPlace = await snapshotsInPlace(backend, requests);
  const snapshots = inPlace ?? (await loadSnapshots(engine, backend, requests));
  const changes = `memory.main.${engine.tempTable("grouped_changes")}`;
  const shared = new Set(wanted.map((s) => s.group)).size < wanted.length;
  const sql = desired && shared ? sharedDesiredChangesSql(desired, slotTable, snapshots) : ownDesiredChangesSql(desired, slotTable, snapshots);
  try {
    await connection.run(`CREATE TABLE ${changes} AS ${sql}`);
  } catch (error) {
    // A file went away or changed since it was hashed: loading them names which.
    if (inPlace !== undefined) await engine.drop(await loadSnapshots(engine, backend, requests));
    throw error;
  }
  await engine.drop(...(inPlace === undefined ? [snapshots] : []), slotTable);
  const counts = new Map<number, { add: number; remove: number }>();
  const rows = await connection.runAndReadAll(`SELECT slot, count(*) FILTER (WHERE NOT removed), count(*) FILTER (WHERE removed) FROM ${changes} GROUP BY slot`);
  for (const [slot, add, remove] of rows.getRows()) counts.set(Number(slot), { add: Number(add), remove: Number(remove) });
  const deltas = new Map<number, MembershipDelta>();
  for (const { slot } of slots) {
    const { add, remove } = counts.get(slot) ?? { add: 0, remove: 0 };
    deltas.set(slot, {
      addTable: `(SELECT key FROM ${changes} WHERE slot = ${slot} AND NOT removed)`,
      removeTable: `(SELECT key FROM ${changes} WHERE slot = ${slot} AND removed)`,
      add,
      remove,
    });
  }
  return deltas;
}

/**
 * Each cohort wants its own group (a set's instances): one full outer join on
 * (slot, key) of desired members and snapshots finds additions and removals; a
 * desired key the model repeated is added once (the result is deduplicated, and
 * is small: only the changes).
 */
function ownDesiredChangesSql(desired: string | undefined, slotTable: string, snapshots: string): string {
  const desiredBySlot = desired
    ? `SELECT s.slot, d.key FROM ${desired} AS d JOIN ${slotTable} AS s ON d.k = s.k`
    : "SELECT NULL::INTEGER AS slot, NULL::VARCHAR AS key WHERE false";
  return `SELECT DISTINCT coalesce(d.slot, s.slot) AS slot, coalesce(d.key, s.key) AS key, d.key IS NULL AS removed
     FROM (${desiredBySlot}) AS d FULL OUTER JOIN ${snapshots} AS s ON d.slot = s.slot AND d.key = s.key
     WHERE d.key IS NULL OR s.key IS NULL`;
}

/**
 * Many cohorts want one group (ordinary cohorts sharing a model): pairing every
 * cohort with every desired member would build cohorts × members rows. Instead
 * each recorded member is looked up among its group's desired members (removals
 * are those not found), each desired member counts the cohorts that hold it, and
 * only members some cohort lacks are paired with that group's cohorts to find
 * additions. Work is then linear in snapshots plus desired members plus changes.
 */
function sharedDesiredChangesSql(desired: string, slotTable: string, snapshots: string): string {
  // Each desired member once: a recorded member must find at most one match.
  return `WITH desired_once AS MATERIALIZED (SELECT DISTINCT k, key FROM ${desired}),
     recorded AS MATERIALIZED (
       SELECT s.slot, sl.k, s.key, d.key IS NOT NULL AS wanted
       FROM ${snapshots} AS s LEFT JOIN ${slotTable} AS sl ON sl.slot = s.slot
       LEFT JOIN desired_once AS d ON d.k = sl.k AND d.key = s.key),
     holders AS (SELECT k, key, count(*) AS n FROM recorded WHERE wanted GROUP BY k, key),
     cohorts AS (SELECT k, count(*) AS n FROM ${slotTable} GROUP BY k),
     lacking AS (SELECT d.k, d.key FROM desired_once AS d JOIN cohorts AS c ON c.k = d.k
       LEFT JOIN holders AS h ON h.k = d.k AND h.key = d.key WHERE coalesce(h.n, 0) < c.n),
     held AS (SELECT r.slot, r.key FROM recorded AS r SEMI JOIN lacking AS l ON l.k = r.k AND l.key = r.key WHERE r.wanted)
   SELECT slot, key, true AS removed FROM recorded WHERE NOT wanted
   UNION ALL
   SELECT sl.slot, l.key, false FROM lacking AS l JOIN ${slotTable} AS sl ON sl.k = l.k
     ANTI JOIN held AS h ON h.slot = sl.slot AND h.key = l.key`;
}
