import type pg from "pg";
import { CohoError } from "../model/errors.js";
import { POSTGRES_CHECKSUM_COLUMNS } from "../sources/postgres/dialect.js";
import { digestFromPostgresRow, memberDigestPostgresColumns, memberDigestPostgresSql } from "./member-digest.js";

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

const checksumColumns = POSTGRES_CHECKSUM_COLUMNS;

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
 * Records the checks of snapshots just written on `client` (inside its transaction),
 * each with the member digest it should have: in one grouped scan the digests are
 * verified over the stored rows and, for those that hold, the rows' checksums are
 * recorded. Where a digest does not hold nothing is recorded, and readers verify
 * the full digest (and report the mismatch) as before.
 */
export async function recordSnapshotChecks(client: pg.ClientBase, tables: SnapshotTables, written: readonly { snapshot: string; digest: string }[]): Promise<void> {
  if (written.length === 0) return;
  const names = written.map((w) => w.snapshot);
  await client.query("SAVEPOINT coho_snapshot_check");
  try {
    const { rows } = await client.query<Checksum & { snapshot: string; hi: string | null; lo: string | null }>(
      `SELECT snapshot, ${memberDigestPostgresColumns}, ${checksumColumns}
       FROM (SELECT snapshot, key, md5(key) AS h FROM ${tables.snapshots} WHERE snapshot = ANY($1::text[])) AS coho_md5 GROUP BY snapshot`,
      [names],
    );
    const found = new Map(rows.map((row) => [row.snapshot, row]));
    await client.query(`DELETE FROM ${tables.checks} WHERE snapshot = ANY($1::text[])`, [names]);
    const holding = written.flatMap((w) => {
      // A snapshot without rows has no group: it is empty, with empty sums.
      const row = found.get(w.snapshot) ?? { n: "0", hi: null, lo: null, h0: null, h1: null };
      return digestFromPostgresRow(row) === w.digest ? [{ ...w, ...row }] : [];
    });
    if (holding.length > 0) {
      await client.query(
        `INSERT INTO ${tables.checks} (snapshot, digest, n, h0, h1)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::numeric[], $5::numeric[])`,
        [holding.map((h) => h.snapshot), holding.map((h) => h.digest), holding.map((h) => h.n), holding.map((h) => h.h0 ?? "0"), holding.map((h) => h.h1 ?? "0")],
      );
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
