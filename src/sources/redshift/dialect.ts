import type { Dialect } from "../dialect.js";
import { MAX_IDENTIFIER_LENGTH, UNICODE_WHITE_SPACE } from "../identifier-sql.js";

/**
 * Amazon Redshift's dialect. Redshift speaks PostgreSQL's wire protocol but refuses
 * much of its SQL (AWS, "Unsupported PostgreSQL features / functions / data types",
 * docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html,
 * …-functions.html, …-datatypes.html): so here no TEXT (VARCHAR(65535), lengths in
 * bytes), no `::` casts to PostgreSQL-only types, no COLLATE clause, no MATERIALIZED
 * CTE, no arrays, row constructors, table functions or VALUES as a table, no
 * EXCEPT ALL / INTERSECT ALL, no bit strings, no hashtextextended, no indexes or
 * sequences; CONCAT only with two arguments (coho uses `||`). The statements are
 * checked against that list by test/integration/redshift-statements.test.ts.
 */
export const VARCHAR_MAX = "VARCHAR(65535)";

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
const text = (expr: string) => `CAST(${expr} AS ${VARCHAR_MAX})`;
const count = (expr: string) => `CAST(${expr} AS VARCHAR(40))`;

/**
 * A bracket expression's members as SQL text: ASCII controls through chr() (no
 * escape syntax is shared by PostgreSQL's and Redshift's regular expressions), the
 * White_Space characters above U+0020 as themselves (UTF-8 in the statement).
 */
const controls = `chr(1) || '-' || chr(31) || chr(127)`;
const controlsAndSpace = `chr(1) || '-' || chr(32) || chr(127)`;
const otherWhiteSpace = UNICODE_WHITE_SPACE.filter((c) => c > 0x20).map((c) => String.fromCodePoint(c)).join("");
const notControl = `'[^' || ${controls} || ']'`;
/** identifier-sql.ts's valid-value pattern: no control character and at least one that is neither control nor White_Space. */
const VALID_PATTERN = `('^' || ${notControl} || '*[^' || ${controlsAndSpace} || '${otherWhiteSpace}]' || ${notControl} || '*$')`;
const CONTROL_PATTERN = `('[' || ${controls} || ']')`;
const WHITE_SPACE_CHARS = `(${UNICODE_WHITE_SPACE.filter((c) => c <= 0x20).map((c) => `chr(${c})`).join(" || ")} || '${otherWhiteSpace}')`;

/** identifier-sql.ts's rules as one expression: the key for a valid value, else the reason's name. */
function keyOrReasonSql(v: string): string {
  return `CASE
        WHEN OCTET_LENGTH(${v}) <= ${MAX_IDENTIFIER_LENGTH} AND ${v} ~ ${VALID_PATTERN} THEN ${text("$1")} || ${v}
        WHEN ${v} IS NULL THEN 'null'
        WHEN BTRIM(${v}, ${WHITE_SPACE_CHARS}) = '' THEN 'empty'
        WHEN ${v} ~ ${CONTROL_PATTERN} THEN 'control_characters'
        WHEN CHAR_LENGTH(${v}) > ${MAX_IDENTIFIER_LENGTH} THEN 'too_long'
        ELSE ${text("$1")} || ${v}
      END`;
}

/**
 * The diff of sources/postgres/pushdown-sql.ts (same rows out, same contract) in
 * Redshift's SQL: model keys or reasons and recorded keys appended and grouped by
 * key in one pass; Redshift picks the grouping (no ORDER BY: its aggregation is
 * distributed, not a sorted stream).
 */
function diffSql(rows: string, snapshots: string | undefined): string {
  const recorded = snapshots === undefined ? "" : `
      UNION ALL
      SELECT key, CAST(NULL AS INTEGER) FROM ${snapshots} WHERE snapshot = $2`;
  return `WITH coho_groups AS (
  SELECT key, COUNT(model_row) AS n, COUNT(*) > COUNT(model_row) AS recorded FROM (
      SELECT ${keyOrReasonSql("v")} AS key, 1 AS model_row FROM (${rows}) AS coho_values${recorded}
  ) AS coho_both GROUP BY key
)
SELECT CASE WHEN STRPOS(key, ':') = 0 THEN 'rejected' WHEN n = 0 THEN 'remove' ELSE 'add' END, key, ${count("n")}, '1'
  FROM coho_groups WHERE n = 0 OR NOT recorded
UNION ALL
SELECT 'valid', NULL, ${count("COALESCE(SUM(n), 0)")}, ${count("COUNT(*)")} FROM coho_groups WHERE n > 0 AND STRPOS(key, ':') > 0`;
}

/**
 * The member digest (state/member-digest.ts): MD5 as hex, four 32-bit chunks read
 * by STRTOL and summed exactly as DECIMAL(38,0); coho combines them modulo 2^64.
 */
function memberDigestSql(relation: string): string {
  const chunk = (start: number) => count(`SUM(CAST(STRTOL(SUBSTRING(h, ${start}, 8), 16) AS DECIMAL(38,0)))`);
  return `SELECT ${count("COUNT(*)")} AS n, ${chunk(1)} AS c1, ${chunk(9)} AS c2, ${chunk(17)} AS c3, ${chunk(25)} AS c4
FROM (SELECT MD5(key) AS h FROM (${relation}) AS coho_digest_keys) AS coho_md5`;
}

const MOD = 2n ** 64n;
const TWO_32 = 2n ** 32n;

function digestFromRow(row: readonly unknown[]): string {
  const big = (value: unknown) => BigInt(value === null || value === undefined ? "0" : String(value));
  const [c1, c2, c3, c4] = [row[1], row[2], row[3], row[4]].map(big) as [bigint, bigint, bigint, bigint];
  const hi = (c1 * TWO_32 + c2) % MOD;
  const lo = (c3 * TWO_32 + c4) % MOD;
  return `v1:${Number(row[0] ?? 0)}:${hi.toString(16).padStart(16, "0")}${lo.toString(16).padStart(16, "0")}`;
}

/** The snapshot tables with Redshift's table attributes: keys spread by key, each snapshot's rows sorted together. */
export function redshiftSnapshotDdl(schema: string): string[] {
  const s = quote(schema);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.snapshot_keys (snapshot VARCHAR(256) NOT NULL, key ${VARCHAR_MAX} NOT NULL) DISTKEY (key) SORTKEY (snapshot)`,
    `CREATE TABLE IF NOT EXISTS ${s}.snapshot_checks (snapshot VARCHAR(256) NOT NULL, digest VARCHAR(256) NOT NULL, checksum VARCHAR(1024) NOT NULL) DISTSTYLE ALL`,
  ];
}

export const REDSHIFT_DIALECT: Dialect = {
  name: "redshift",
  quote,
  asText: text,
  textType: VARCHAR_MAX,
  nullText: text("NULL"),
  sessionSettings: [],
  diffSettings: [],
  createTempTable: (name, select) => `CREATE TEMP TABLE ${name} AS\n${select}`,
  diffSql,
  diffParams: (prefix, snapshot) => (snapshot === undefined ? [prefix] : [prefix, snapshot]),
  memberDigestSql,
  digestFromRow,
  // Row count and two sums of 64-bit FNV-1a hashes (the second seeded), exact as DECIMAL(38,0).
  checksumSql: (snapshots) =>
    `SELECT ${count("COUNT(*)")} AS n, ${count("SUM(CAST(FNV_HASH(key) AS DECIMAL(38,0)))")} AS h0, ${count("SUM(CAST(FNV_HASH(key, 1) AS DECIMAL(38,0)))")} AS h1 FROM ${snapshots} WHERE snapshot = $1`,
  snapshotTablesDdl: redshiftSnapshotDdl,
};
