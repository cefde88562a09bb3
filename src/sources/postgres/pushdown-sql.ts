import { MAX_IDENTIFIER_LENGTH, onlyWhiteSpaceSql, otherWhiteSpaceClass } from "../identifier-sql.js";

/**
 * The SQL of a pushed-down diff (PostgreSQL dialect). Pure: builds text, runs nothing.
 *
 * One statement does what the embedded planner does in several: identifier rules,
 * de-duplication and both set differences. The model's rows (after the rules) and the
 * recorded snapshot's keys are appended, sorted once and grouped by key; a group with
 * no model row is a removal, one with no snapshot row an addition. PostgreSQL's own
 * floor (two `EXCEPT`s) sorts or hashes both inputs twice; this sorts them once.
 *
 * A rejected row's group key is its reason's name (`null`, `empty`, …). Every member
 * key holds a `:` (keyPrefix: `external_id:`, `alias:<label>:`, `device_id:`) and no
 * reason name does, so the two never meet in one group.
 *
 * Why sorted, not hashed: measured on this project's benchmark (1M keys), a sort in the
 * "C" collation (byte order: memcmp, no locale) then a streaming group took ~25% less
 * time than a hash aggregate over a million text groups, and its memory stays bounded
 * by work_mem at any size (it spills as an external merge). The `ORDER BY` in the
 * subquery makes PostgreSQL group the sorted stream. `COLLATE "C"` changes no result:
 * keys are only compared for equality, which is byte equality in every deterministic
 * collation.
 */

/**
 * The diff over `rows` (a relation with a text column `v`), against the snapshot
 * `$2` in `snapshots` (or against nothing when `snapshots` is undefined); `$1` is the
 * key prefix. Rows out, in no particular order:
 *   ('add', key, n, 1)          a key the model has and the snapshot lacks (n rows)
 *   ('remove', key, 0, 1)       a key the snapshot has and the model lacks
 *   ('rejected', reason, n, 1)  n rows rejected for `reason`
 *   ('valid', NULL, n, g)       n rows with a valid identifier, g distinct keys
 */
export function diffSql(rows: string, snapshots: string | undefined): string {
  const recorded = snapshots === undefined ? "SELECT NULL::text, NULL::integer WHERE false" : `SELECT key COLLATE "C", NULL::integer FROM ${snapshots} WHERE snapshot = $2`;
  return `WITH coho_groups AS MATERIALIZED (
  SELECT key, count(model_row) AS n, count(*) > count(model_row) AS recorded FROM (
    SELECT key, model_row FROM (
      SELECT ${keyOrReasonSql("v")} COLLATE "C" AS key, 1 AS model_row FROM (${rows}) AS coho_values
      UNION ALL
      ${recorded}
    ) AS coho_both ORDER BY key
  ) AS coho_sorted GROUP BY key
)
SELECT CASE WHEN strpos(key, ':') = 0 THEN 'rejected' WHEN n = 0 THEN 'remove' ELSE 'add' END, key, n::text, '1'
  FROM coho_groups WHERE n = 0 OR NOT recorded
UNION ALL
SELECT 'valid', NULL, coalesce(sum(n), 0)::text, count(*)::text FROM coho_groups WHERE n > 0 AND strpos(key, ':') > 0`;
}

/**
 * identifier-sql.ts's rules in PostgreSQL's dialect (text holds no NUL), as one
 * expression: `$1 || v` for a valid value, else the reason's name. Valid values take
 * one exact test first (as in DuckDB): no control character, at least one character
 * that is neither a control character nor White_Space, at most MAX_IDENTIFIER_LENGTH
 * bytes. Only the others go through the per-reason tests, in order; a value that
 * passes all of them (over the byte limit but within the character limit) is valid.
 */
export function keyOrReasonSql(v: string): string {
  return `CASE
        WHEN octet_length(${v}) <= ${MAX_IDENTIFIER_LENGTH} AND ${v} ~ '^[^\\x01-\\x1f\\x7f]*[^\\x01-\\x20\\x7f${otherWhiteSpaceClass("postgres")}][^\\x01-\\x1f\\x7f]*$' THEN $1 || ${v}
        WHEN ${v} IS NULL THEN 'null'
        WHEN ${onlyWhiteSpaceSql(v, "btrim")} THEN 'empty'
        WHEN ${v} ~ '[\\x01-\\x1f\\x7f]' THEN 'control_characters'
        WHEN char_length(${v}) > ${MAX_IDENTIFIER_LENGTH} THEN 'too_long'
        ELSE $1 || ${v}
      END`;
}
