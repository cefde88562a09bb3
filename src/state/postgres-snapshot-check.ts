import type pg from "pg";
import { CohoError } from "../model/errors.js";
import { digestFromPostgresRow, memberDigestPostgresSql } from "./member-digest.js";

/**
 * A snapshot's check: verifying the member digest where the snapshot lives costs one
 * MD5 per key (PostgreSQL's md5() is about as slow as the whole diff of the same keys),
 * so it is done once, when the snapshot is written, and a cheap checksum of the rows
 * as verified is recorded beside it (table `snapshot_checks`). A later reader that
 * finds the same checksum over the same rows knows the digest still holds: the rows
 * are unchanged since they were verified. Any other outcome (no check recorded, a
 * different checksum, a PostgreSQL without the hash function) falls back to the full
 * digest, so the answer never rests on the checksum alone.
 *
 * The checksum: row count and two sums of hashtextextended(key, seed) (64-bit hashes,
 * seeds 0 and 1) in the "C" collation (byte-wise). Like the digest it is
 * order-independent, and an integrity check, not a defence against forgery.
 */
export interface SnapshotTables {
  readonly snapshots: string;
  readonly checks: string;
}

interface Checksum {
  n: string;
  h0: string | null;
  h1: string | null;
}

const checksumColumns = `count(*)::text AS n, sum(hashtextextended(key COLLATE "C", 0))::text AS h0, sum(hashtextextended(key COLLATE "C", 1))::text AS h1`;

/**
 * Verifies `snapshot` against the digest `expected` (from the state), cheaply when its
 * check still holds; throws state.snapshot_mismatch when the rows do not match.
 */
export async function verifySnapshot(client: pg.ClientBase, tables: SnapshotTables, snapshot: string, expected: { count: number; digest: string }): Promise<"checksum" | "digest"> {
  if (await checkHolds(client, tables, snapshot, expected.digest)) return "checksum";
  const row = (await client.query<{ n: string; hi: string | null; lo: string | null }>(memberDigestPostgresSql(`SELECT key FROM ${tables.snapshots} WHERE snapshot = $1`), [snapshot])).rows[0]!;
  const digest = digestFromPostgresRow(row);
  if (digest !== expected.digest) {
    throw new CohoError("state.snapshot_mismatch", `a snapshot in the state database does not match its state: expected ${expected.count} members (digest ${expected.digest}), found ${row.n} (digest ${digest})`);
  }
  return "digest";
}

async function checkHolds(client: pg.ClientBase, tables: SnapshotTables, snapshot: string, digest: string): Promise<boolean> {
  try {
    const { rows } = await client.query<Checksum & { recorded: boolean }>(
      `SELECT s.*, (c.n::text = s.n AND c.h0::text = s.h0 AND c.h1::text = s.h1) AS recorded
       FROM (SELECT ${checksumColumns} FROM ${tables.snapshots} WHERE snapshot = $1) AS s
       JOIN ${tables.checks} AS c ON c.snapshot = $1 AND c.digest = $2`,
      [snapshot, digest],
    );
    return rows[0]?.recorded === true;
  } catch (error) {
    if (!isUndefinedFunction(error)) throw error;
    return false;
  }
}

/**
 * Records the check of `snapshot`, just written on `client` (inside its transaction)
 * with member digest `digest`: the digest is verified over the stored rows and, when
 * it holds, their checksum is recorded in the same scan. When it does not hold nothing
 * is recorded, and readers verify the full digest (and report the mismatch) as before.
 */
export async function recordSnapshotCheck(client: pg.ClientBase, tables: SnapshotTables, snapshot: string, digest: string): Promise<void> {
  await client.query("SAVEPOINT coho_snapshot_check");
  try {
    const digestSql = memberDigestPostgresSql(`SELECT key FROM ${tables.snapshots} WHERE snapshot = $1`);
    const [{ n, hi, lo }] = (await client.query<{ n: string; hi: string | null; lo: string | null }>(digestSql, [snapshot])).rows as [{ n: string; hi: string | null; lo: string | null }];
    await client.query(`DELETE FROM ${tables.checks} WHERE snapshot = $1`, [snapshot]);
    if (digestFromPostgresRow({ n, hi, lo }) === digest) {
      await client.query(`INSERT INTO ${tables.checks} (snapshot, digest, n, h0, h1) SELECT $1, $2, n::bigint, coalesce(h0, '0')::numeric, coalesce(h1, '0')::numeric FROM (SELECT ${checksumColumns} FROM ${tables.snapshots} WHERE snapshot = $1) AS s`, [snapshot, digest]);
    }
    await client.query("RELEASE SAVEPOINT coho_snapshot_check");
  } catch (error) {
    // Without hashtextextended (PostgreSQL before 11) snapshots are verified in full.
    if (!isUndefinedFunction(error)) throw error;
    await client.query("ROLLBACK TO SAVEPOINT coho_snapshot_check");
  }
}

function isUndefinedFunction(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "42883";
}
