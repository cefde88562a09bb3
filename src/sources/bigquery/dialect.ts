import { formatDigest } from "../../state/member-digest.js";
import type { Dialect } from "../dialect.js";
import { MAX_IDENTIFIER_LENGTH, UNICODE_WHITE_SPACE, otherWhiteSpaceClass } from "../identifier-sql.js";

/**
 * GoogleSQL (BigQuery's dialect) for push-down. Parameters are named `@p1`, `@p2`, …
 * in the order of `diffParams` (the BigQuery session binds the array that way), so
 * one parameter may appear several times.
 */

const quote = (name: string) => `\`${name.replace(/[`\\]/g, "\\$&")}\``;

/**
 * identifier-sql.ts's rules in GoogleSQL, as one expression: `@p1` (the key prefix)
 * joined to a valid value, else the reason's name. Valid values take one exact test
 * first (RE2, as DuckDB): no control character, at least one character that is
 * neither a control character nor White_Space, at most MAX_IDENTIFIER_LENGTH bytes.
 * Only the others go through the per-reason tests, in the embedded rules' order.
 */
export function keyOrReasonSql(v: string): string {
  const whiteSpace = `CODE_POINTS_TO_STRING([${UNICODE_WHITE_SPACE.join(", ")}])`;
  return `CASE
        WHEN BYTE_LENGTH(${v}) <= ${MAX_IDENTIFIER_LENGTH} AND REGEXP_CONTAINS(${v}, r'^[^\\x00-\\x1f\\x7f]*[^\\x00-\\x20\\x7f${otherWhiteSpaceClass("re2")}][^\\x00-\\x1f\\x7f]*$') THEN CONCAT(@p1, ${v})
        WHEN ${v} IS NULL THEN 'null'
        WHEN TRIM(${v}, ${whiteSpace}) = '' THEN 'empty'
        WHEN REGEXP_CONTAINS(${v}, r'[\\x00-\\x1f\\x7f]') THEN 'control_characters'
        WHEN CHAR_LENGTH(${v}) > ${MAX_IDENTIFIER_LENGTH} THEN 'too_long'
        ELSE CONCAT(@p1, ${v})
      END`;
}

/**
 * The one-pass diff (contract: sources/postgres/pushdown-sql.ts), in GoogleSQL: the
 * model's keys (or rejection reasons) and the recorded snapshot's keys, grouped by
 * key once; a group with no model row is a removal, one with no recorded row an
 * addition. BigQuery shuffles by hash, so no sort order is asked for.
 */
export function bigQueryDiffSql(rows: string, snapshots: string | undefined): string {
  const recorded = snapshots === undefined ? "SELECT CAST(NULL AS STRING), FALSE FROM UNNEST([1]) WHERE FALSE" : `SELECT key, FALSE FROM ${snapshots} WHERE snapshot = @p2`;
  return `WITH coho_groups AS (
  SELECT key, COUNTIF(model_row) AS n, LOGICAL_OR(NOT model_row) AS recorded FROM (
    SELECT ${keyOrReasonSql("v")} AS key, TRUE AS model_row FROM (${rows}) AS coho_values
    UNION ALL
    ${recorded}
  ) AS coho_both GROUP BY key
)
SELECT CASE WHEN STRPOS(key, ':') = 0 THEN 'rejected' WHEN n = 0 THEN 'remove' ELSE 'add' END AS kind, key, CAST(n AS STRING) AS n, '1' AS g
  FROM coho_groups WHERE n = 0 OR NOT recorded
UNION ALL
SELECT 'valid', CAST(NULL AS STRING), CAST(COALESCE(SUM(n), 0) AS STRING), CAST(COUNT(*) AS STRING) FROM coho_groups WHERE n > 0 AND STRPOS(key, ':') > 0`;
}

/**
 * The member digest (state/member-digest.ts) in GoogleSQL: MD5 of each key, its 16
 * bytes as four big-endian 32-bit chunks, each summed exactly (NUMERIC holds any sum
 * of 2^31 chunks); `digestFromRow` recombines the sums into the two 64-bit halves
 * modulo 2^64. GoogleSQL has no unsigned 64-bit integer, so no half is summed whole.
 */
export function bigQueryMemberDigestSql(relation: string): string {
  const chunk = (i: number) => `SUM(CAST(CAST(CONCAT('0x', TO_HEX(SUBSTR(h, ${4 * i + 1}, 4))) AS INT64) AS NUMERIC))`;
  return `SELECT CAST(COUNT(*) AS STRING) AS n, ${[0, 1, 2, 3].map((i) => `CAST(COALESCE(${chunk(i)}, 0) AS STRING) AS c${i}`).join(", ")}
FROM (SELECT MD5(key) AS h FROM (${relation}) AS coho_digest_keys) AS coho_md5`;
}

const MOD = 2n ** 64n;

export function bigQueryDigestFromRow(row: readonly unknown[]): string {
  const [n, c0, c1, c2, c3] = row.map((v) => BigInt(String(v ?? "0")));
  const half = (high: bigint, low: bigint) => ((high! << 32n) + low!) % MOD;
  return formatDigest(Number(n), half(c0!, c1!), half(c2!, c3!));
}

export const BIGQUERY_DIALECT: Dialect = {
  name: "bigquery",
  quote,
  asText: (expr) => `CAST(${expr} AS STRING)`,
  textType: "STRING",
  nullText: "CAST(NULL AS STRING)",
  sessionSettings: [],
  diffSettings: [],
  // BigQuery has temporary tables only inside a session or script; the BigQuery
  // session (bigquery-session.ts) gives `name` a table of its own in coho's dataset.
  createTempTable: (name, select) => `CREATE TABLE ${name} AS\n${select}`,
  diffSql: bigQueryDiffSql,
  diffParams: (prefix, snapshot) => (snapshot === undefined ? [prefix] : [prefix, snapshot]),
  memberDigestSql: bigQueryMemberDigestSql,
  digestFromRow: bigQueryDigestFromRow,
  checksumSql: (snapshots) => `SELECT CAST(COUNT(*) AS STRING) AS n, CAST(COALESCE(BIT_XOR(FARM_FINGERPRINT(key)), 0) AS STRING) AS h FROM ${snapshots} WHERE snapshot = @p1`,
  snapshotTablesDdl: (schema) => [
    `CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${quote(schema)}.snapshot_keys (snapshot STRING NOT NULL, key STRING NOT NULL) CLUSTER BY snapshot`,
    `CREATE TABLE IF NOT EXISTS ${quote(schema)}.snapshot_checks (snapshot STRING NOT NULL, digest STRING NOT NULL, n STRING NOT NULL, h STRING)`,
  ],
};
