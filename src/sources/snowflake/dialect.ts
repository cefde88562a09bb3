import { formatDigest } from "../../state/member-digest.js";
import type { Dialect } from "../dialect.js";
import { MAX_IDENTIFIER_LENGTH, UNICODE_WHITE_SPACE } from "../identifier-sql.js";

/**
 * Snowflake SQL for push-down. Parameters are positional binds `:1`, `:2`, … in the
 * order of `diffParams` (one may appear several times).
 */

/** A quoted identifier: exactly the name Snowflake reported (unquoted names are stored upper-case). */
export const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A name coho chose (its schema): unquoted when Snowflake reads it as written but upper-cased, else quoted. */
export const ownName = (name: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : quote(name));

/**
 * The control characters as a bracket-expression range. Written as escapes of
 * Snowflake's string literals (`\x00`), which Snowflake turns into the characters
 * themselves before the regular expression reads them.
 */
const CONTROL = "\\x00-\\x1f\\x7f";
/** White_Space above U+0020, as the characters themselves (a literal holds any Unicode). */
const OTHER_WHITE_SPACE = String.fromCodePoint(...UNICODE_WHITE_SPACE.filter((c) => c > 0x20));
/** Every White_Space character: the ASCII ones (tab to carriage return, space) as escapes, the others as themselves. */
const ALL_WHITE_SPACE = `\\x09-\\x0d\\x20${OTHER_WHITE_SPACE}`;

/**
 * identifier-sql.ts's rules in Snowflake SQL, as one expression: `:1` (the key
 * prefix) joined to a valid value, else the reason's name. REGEXP_LIKE matches the
 * whole value. Valid values take one exact test first: no control character, at
 * least one character that is neither a control character nor White_Space, at most
 * MAX_IDENTIFIER_LENGTH bytes. Only the others go through the per-reason tests, in
 * the embedded rules' order. A value made only of White_Space (or nothing) is
 * `empty`: one whole-value match of a class of them.
 */
export function keyOrReasonSql(v: string): string {
  return `CASE
        WHEN OCTET_LENGTH(${v}) <= ${MAX_IDENTIFIER_LENGTH} AND REGEXP_LIKE(${v}, '[^${CONTROL}]*[^${CONTROL}\\x20${OTHER_WHITE_SPACE}][^${CONTROL}]*') THEN :1 || ${v}
        WHEN ${v} IS NULL THEN 'null'
        WHEN REGEXP_LIKE(${v}, '[${ALL_WHITE_SPACE}]*') THEN 'empty'
        WHEN ${v} <> REGEXP_REPLACE(${v}, '[${CONTROL}]', '') THEN 'control_characters'
        WHEN LENGTH(${v}) > ${MAX_IDENTIFIER_LENGTH} THEN 'too_long'
        ELSE :1 || ${v}
      END`;
}

/**
 * The one-pass diff (contract: sources/postgres/pushdown-sql.ts), in Snowflake SQL:
 * the model's keys (or rejection reasons) and the recorded snapshot's keys, grouped
 * by key once; a group with no model row is a removal, one with no recorded row an
 * addition. Keys are compared without collation (`COLLATE ''`, Snowflake's default:
 * by code point, so by UTF-8 bytes), whatever collation a model's column carries: two
 * keys group together only when they are the same bytes.
 */
export function snowflakeDiffSql(rows: string, snapshots: string | undefined): string {
  const recorded = snapshots === undefined ? "SELECT CAST(NULL AS VARCHAR), NULL WHERE FALSE" : `SELECT COLLATE(key, ''), NULL FROM ${snapshots} WHERE snapshot = :2`;
  return `WITH coho_groups AS (
  SELECT key, COUNT(model_row) AS n, COUNT(*) > COUNT(model_row) AS recorded FROM (
    SELECT COLLATE(${keyOrReasonSql("v")}, '') AS key, 1 AS model_row FROM (${rows}) AS coho_values
    UNION ALL
    ${recorded}
  ) AS coho_both GROUP BY key
)
SELECT CASE WHEN POSITION(':', key) = 0 THEN 'rejected' WHEN n = 0 THEN 'remove' ELSE 'add' END AS kind, key, TO_VARCHAR(n) AS n, '1' AS g
  FROM coho_groups WHERE n = 0 OR NOT recorded
UNION ALL
SELECT 'valid', NULL, TO_VARCHAR(COALESCE(SUM(n), 0)), TO_VARCHAR(COUNT(*)) FROM coho_groups WHERE n > 0 AND POSITION(':', key) > 0`;
}

/**
 * The member digest (state/member-digest.ts) in Snowflake SQL: MD5_NUMBER_UPPER64 and
 * MD5_NUMBER_LOWER64 are exactly its two big-endian halves; each is summed exactly as
 * NUMBER (a 64-bit half fits NUMBER(20,0); the sum, NUMBER(38,0), any 2^64 of them)
 * and `digestFromRow` takes the sums modulo 2^64. Text out, so no driver rounds them.
 */
export function snowflakeMemberDigestSql(relation: string): string {
  const half = (fn: string) => `TO_VARCHAR(COALESCE(SUM(CAST(${fn}(key) AS NUMBER(20, 0))), 0))`;
  return `SELECT TO_VARCHAR(COUNT(*)) AS n, ${half("MD5_NUMBER_UPPER64")} AS hi, ${half("MD5_NUMBER_LOWER64")} AS lo
FROM (${relation}) AS coho_digest_keys`;
}

const MOD = 2n ** 64n;

export function snowflakeDigestFromRow(row: readonly unknown[]): string {
  const [n, hi, lo] = row.map((v) => BigInt(String(v ?? "0")));
  return formatDigest(Number(n), hi! % MOD, lo! % MOD);
}

export const SNOWFLAKE_DIALECT: Dialect = {
  name: "snowflake",
  quote,
  // Without collation (COLLATE '') whatever the column's: keys compare by code point,
  // and Snowflake's regular-expression functions refused collated arguments before
  // its 2026_04 behaviour-change bundle (which documents COLLATE '' as the remedy).
  asText: (expr) => `COLLATE(TO_VARCHAR(${expr}), '')`,
  textType: "VARCHAR",
  nullText: "CAST(NULL AS VARCHAR)",
  sessionSettings: [],
  diffSettings: [],
  // The Snowflake session (snowflake-session.ts) gives `name` a transient table of its
  // own in coho's schema: a temporary table would need CREATE TABLE on the model's schema.
  createTempTable: (name, select) => `CREATE TABLE ${name} AS\n${select}`,
  diffSql: snowflakeDiffSql,
  diffParams: (prefix, snapshot) => (snapshot === undefined ? [prefix] : [prefix, snapshot]),
  memberDigestSql: snowflakeMemberDigestSql,
  digestFromRow: snowflakeDigestFromRow,
  // HASH_AGG's algorithm is Snowflake's own: its value is only ever compared with the
  // one this warehouse recorded when it wrote the snapshot (snapshot_checks.h).
  checksumSql: (snapshots) => `SELECT TO_VARCHAR(COUNT(*)) AS n, TO_VARCHAR(COALESCE(HASH_AGG(key), 0)) AS h FROM ${snapshots} WHERE snapshot = :1`,
  snapshotTablesDdl: (schema) => [
    `CREATE SCHEMA IF NOT EXISTS ${ownName(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${ownName(schema)}.snapshot_keys (snapshot VARCHAR NOT NULL, key VARCHAR NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${ownName(schema)}.snapshot_checks (snapshot VARCHAR NOT NULL, digest VARCHAR NOT NULL, n VARCHAR NOT NULL, h VARCHAR)`,
  ],
};
