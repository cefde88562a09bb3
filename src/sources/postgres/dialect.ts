import { digestFromPostgresRow, memberDigestPostgresSql } from "../../state/member-digest.js";
import type { Dialect } from "../dialect.js";
import { diffSql } from "./pushdown-sql.js";

/** Session work_mem for push-down queries (see docs/performance.md). */
export const PUSHDOWN_WORK_MEM = "256MB";

/**
 * The checksum of a snapshot's rows (state/postgres-snapshot-check.ts): row count and
 * two sums of hashtextextended(key, seed), in the "C" collation (byte-wise).
 */
export const POSTGRES_CHECKSUM_COLUMNS = `count(*)::text AS n, sum(hashtextextended(key COLLATE "C", 0))::text AS h0, sum(hashtextextended(key COLLATE "C", 1))::text AS h1`;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** PostgreSQL's dialect: the first push-down target (pushdown-sql.ts holds the diff). */
export const POSTGRES_DIALECT: Dialect = {
  name: "postgres",
  quote,
  asText: (expr) => `${expr}::text`,
  textType: "text",
  nullText: "NULL::text",
  // The sort of the diff stays in memory at a million keys instead of an external merge
  // on disk (PostgreSQL's default is 4MB per operation).
  sessionSettings: [`SET work_mem = '${PUSHDOWN_WORK_MEM}'`],
  // The diff is read through a cursor, which PostgreSQL never runs in parallel: plan it serial too.
  diffSettings: ["SET max_parallel_workers_per_gather = 0"],
  createTempTable: (name, select) => `CREATE TEMP TABLE ${name} AS\n${select}`,
  diffSql,
  diffParams: (prefix, snapshot) => (snapshot === undefined ? [prefix] : [prefix, snapshot]),
  memberDigestSql: memberDigestPostgresSql,
  digestFromRow: (row) => digestFromPostgresRow({ n: String(row[0] ?? "0"), hi: row[1] === null ? null : String(row[1]), lo: row[2] === null ? null : String(row[2]) }),
  checksumSql: (snapshots) => `SELECT ${POSTGRES_CHECKSUM_COLUMNS} FROM ${snapshots} WHERE snapshot = $1`,
  snapshotTablesDdl: (schema) => [
    `CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${quote(schema)}.snapshot_keys (snapshot text NOT NULL, key text NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS snapshot_keys_snapshot ON ${quote(schema)}.snapshot_keys (snapshot)`,
    `CREATE TABLE IF NOT EXISTS ${quote(schema)}.snapshot_checks (snapshot text NOT NULL, digest text NOT NULL, checksum text NOT NULL)`,
  ],
};
