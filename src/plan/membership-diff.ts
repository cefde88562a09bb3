import type { DuckDbEngine } from "../sources/duckdb-engine.js";

export interface MembershipDelta {
  /** Work tables (column `key`) of members to add and to remove. */
  readonly addTable: string;
  readonly removeTable: string;
  readonly add: number;
  readonly remove: number;
}

/**
 * The two set differences, computed in DuckDB on tables that were streamed in:
 * add = desired − snapshot, remove = snapshot − desired. The snapshot holds each
 * key once (snapshots are sets); desired may repeat a key (the model's valid rows
 * as they came): the result is deduplicated instead, and is small. Either side
 * may be absent (a new cohort has no snapshot; a deleted one has no desired
 * members). `desiredMembers`: the distinct desired keys, counted from the result:
 * those recorded and kept, plus the additions.
 */
export async function diffMembership(engine: DuckDbEngine, desired: string | undefined, snapshot: string | undefined): Promise<MembershipDelta & { readonly desiredMembers: number }> {
  const addTable = `memory.main.${engine.tempTable("add")}`;
  const removeTable = `memory.main.${engine.tempTable("remove")}`;
  const empty = "(SELECT NULL::VARCHAR AS key WHERE false)";
  const d = desired ?? empty;
  const s = snapshot ?? empty;
  // One full outer join finds both sides at once (a single hash join instead of two);
  // the result holds only the changes, which are then split.
  const changes = `memory.main.${engine.tempTable("changes")}`;
  await engine.connection.run(
    `CREATE TABLE ${changes} AS SELECT DISTINCT coalesce(d.key, s.key) AS key, d.key IS NULL AS removed
     FROM ${d} AS d FULL OUTER JOIN ${s} AS s ON d.key = s.key WHERE d.key IS NULL OR s.key IS NULL`,
  );
  await engine.connection.run(`CREATE TABLE ${addTable} AS SELECT key FROM ${changes} WHERE NOT removed`);
  await engine.connection.run(`CREATE TABLE ${removeTable} AS SELECT key FROM ${changes} WHERE removed`);
  const counts = await engine.connection.runAndReadAll(
    `SELECT count(*) FILTER (WHERE NOT removed), count(*) FILTER (WHERE removed), ${snapshot ? `(SELECT count(*) FROM ${s})` : "0"} FROM ${changes}`,
  );
  await engine.drop(changes);
  const [add, remove, recorded] = (counts.getRows()[0] ?? [0n, 0n, 0n]).map(Number) as [number, number, number];
  return { addTable, removeTable, add, remove, desiredMembers: desired ? recorded - remove + add : 0 };
}

/** Up to `n` keys of a table, sorted: samples for --show-members. */
export async function sampleKeys(engine: DuckDbEngine, table: string, n: number): Promise<string[]> {
  if (n <= 0) return [];
  const rows = await engine.connection.runAndReadAll(`SELECT key FROM ${table} ORDER BY key LIMIT ${Math.floor(n)}`);
  return rows.getRows().map((r) => String(r[0]));
}
