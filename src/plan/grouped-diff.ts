import { literal, type DuckDbEngine } from "../sources/duckdb-engine.js";
import type { StateBackend } from "../state/backend.js";
import { loadSnapshots, type SnapshotRequest } from "../state/load-snapshots.js";
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
 * The membership diff of many cohorts in one pass: desired members (k, key)
 * are matched to cohorts by group, all snapshots are loaded into one table, and
 * one full outer join on (slot, key) finds every cohort's additions and removals.
 * Per cohort, the add and remove "tables" are filtered views of the one result.
 */
export async function diffGrouped(engine: DuckDbEngine, backend: StateBackend, desired: string | undefined, slots: readonly DiffSlot[]): Promise<Map<number, MembershipDelta>> {
  const connection = engine.connection;
  const wanted = slots.filter((s) => s.group !== undefined);
  const slotTable = `memory.main.${engine.tempTable("slots")}`;
  await connection.run(`CREATE TABLE ${slotTable} (slot INTEGER, k VARCHAR)`);
  if (wanted.length > 0) await connection.run(`INSERT INTO ${slotTable} VALUES ${wanted.map((s) => `(${s.slot}, ${literal(s.group!)})`).join(", ")}`);
  const requests = slots.flatMap((s) => (s.snapshot ? [{ ...s.snapshot, slot: s.slot }] : []));
  const snapshots = await loadSnapshots(engine, backend, requests);
  const desiredBySlot = desired
    ? `SELECT s.slot, d.key FROM ${desired} AS d JOIN ${slotTable} AS s ON d.k = s.k`
    : "SELECT NULL::INTEGER AS slot, NULL::VARCHAR AS key WHERE false";
  const changes = `memory.main.${engine.tempTable("grouped_changes")}`;
  await connection.run(
    `CREATE TABLE ${changes} AS SELECT coalesce(d.slot, s.slot) AS slot, coalesce(d.key, s.key) AS key, d.key IS NULL AS removed
     FROM (${desiredBySlot}) AS d FULL OUTER JOIN ${snapshots} AS s ON d.slot = s.slot AND d.key = s.key
     WHERE d.key IS NULL OR s.key IS NULL`,
  );
  await engine.drop(snapshots, slotTable);
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
