import type { IdentifierConfig, SingleIdentifierConfig } from "../model/project.js";
import { literal } from "./duckdb-engine.js";

/** Longest identifier value coho sends (characters); longer ones are rejected. */
export const MAX_IDENTIFIER_LENGTH = 512;

export { REJECT_REASONS, type RejectReason } from "../model/reject-reason.js";

/** The member-key prefix of an identifier mapping: `external_id:`, `alias:<label>:`, `device_id:`. */
export function keyPrefix(identifier: SingleIdentifierConfig): string {
  return identifier.type === "alias" ? `alias:${identifier.label}:` : `${identifier.type}:`;
}

/**
 * The value and key-prefix expressions of a row for `identifier`, given each
 * column as a VARCHAR expression: one column as it is, or for a list the first
 * non-null part (`coalesce`) and that part's prefix. A list's prefix is NULL
 * when every part is null (the row is rejected as `null`).
 */
export function identifierValueSql(identifier: IdentifierConfig, column: (name: string) => string): { value: string; prefix: string } {
  if (identifier.type !== "first_of") return { value: column(identifier.column), prefix: literal(keyPrefix(identifier)) };
  const parts = identifier.parts;
  return {
    value: `coalesce(${parts.map((p) => column(p.column)).join(", ")})`,
    prefix: `CASE ${parts.map((p) => `WHEN ${column(p.column)} IS NOT NULL THEN ${literal(keyPrefix(p))}`).join(" ")} END`,
  };
}

/**
 * Unicode's White_Space property (PropList.txt): a value made only of these is
 * `empty`. Both dialects build the same expression from this one list.
 */
export const UNICODE_WHITE_SPACE: readonly number[] = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];

/**
 * `<trim>(v, chr(9) || … ) = ''`: true when `v` holds only White_Space. `trim` is
 * DuckDB's name, `btrim` PostgreSQL's; both take code points through chr().
 */
export function onlyWhiteSpaceSql(value: string, trim: "trim" | "btrim"): string {
  return `${trim}(${value}, ${UNICODE_WHITE_SPACE.map((c) => `chr(${c})`).join(" || ")}) = ''`;
}

/**
 * A regex bracket-expression fragment of the White_Space characters above
 * U+0020 (the ASCII ones are controls or the space, which the fast tests exclude
 * by range): `\x{a0}` for RE2 (DuckDB), `\u00a0` for PostgreSQL's ARE.
 */
export function otherWhiteSpaceClass(dialect: "re2" | "postgres"): string {
  const escape = (c: number) => (dialect === "re2" ? `\\x{${c.toString(16)}}` : `\\u${c.toString(16).padStart(4, "0")}`);
  return UNICODE_WHITE_SPACE.filter((c) => c > 0x20).map(escape).join("");
}

/**
 * SQL (DuckDB) turning a relation of identifier text `v` (and primary key `pk`)
 * into candidate members: `key` for valid values, else a `reason`. The one place
 * the rules live, for every source:
 *   - null → `null`; empty or only Unicode White_Space (UNICODE_WHITE_SPACE:
 *     tab, LF, space, NBSP, U+3000…) → `empty` (values are never trimmed);
 *   - any control character (U+0000–U+001F, U+007F) → `control_characters`;
 *   - more than MAX_IDENTIFIER_LENGTH characters → `too_long`.
 * Valid values take one cheap test first, exact for them: no control character,
 * at least one character that is neither a control character nor White_Space,
 * and at most MAX_IDENTIFIER_LENGTH bytes (so at most as many characters). Before
 * it, a smaller test catches the usual shape of ids, only printable ASCII without
 * spaces (U+0021–U+007E): such a value is valid, and a one-range automaton decides
 * it ~20% cheaper per row than the full test. Only values failing both go through
 * the per-reason tests, in order, so each gets its reason.
 * `passThrough` columns of the relation are carried along (a cohort set's key).
 * For a list of identifiers the relation also has `kp`, the chosen part's key
 * prefix (see identifierValueSql). Pure: builds text, runs nothing.
 */
export function candidatesSql(relation: string, identifier: IdentifierConfig, passThrough: readonly string[] = []): string {
  const carried = identifier.type === "first_of" ? [...passThrough, "kp"] : passThrough;
  const extra = carried.map((column) => `, ${column}`).join("");
  const prefix = identifier.type === "first_of" ? "kp" : literal(keyPrefix(identifier));
  return `SELECT pk${extra}, CASE WHEN reason IS NULL THEN ${prefix} || v END AS key, reason
FROM (
  SELECT pk, v${extra}, CASE
    WHEN v IS NULL THEN 'null'
    WHEN strlen(v) <= ${MAX_IDENTIFIER_LENGTH} AND regexp_full_match(v, '[\\x21-\\x7e]+') THEN NULL
    WHEN strlen(v) <= ${MAX_IDENTIFIER_LENGTH} AND regexp_full_match(v, '[^\\x00-\\x1f\\x7f]*[^\\x00-\\x20\\x7f${otherWhiteSpaceClass("re2")}][^\\x00-\\x1f\\x7f]*') THEN NULL
    WHEN ${onlyWhiteSpaceSql("v", "trim")} THEN 'empty'
    WHEN regexp_matches(v, '[\\x00-\\x1f\\x7f]') THEN 'control_characters'
    WHEN length(v) > ${MAX_IDENTIFIER_LENGTH} THEN 'too_long'
  END AS reason
  FROM (${relation}) AS coho_values
) AS coho_checked`;
}

/**
 * Members tables keep each model row in one column `key`: its member key or, for
 * a rejected row, this control character and then its reason (see
 * memberOrRejectionSql). Member keys start with their kind (`external_id:`…, never
 * a control character), so the two never mix. A second column for the reason,
 * NULL on nearly every row, cost a 1M-member plan ~7 MB of its peak memory (DuckDB
 * keeps work tables uncompressed) for a handful of rejections.
 */
const REJECTED = "chr(1)";
/** candidatesSql's key and reason as one column (see REJECTED). */
export function memberOrRejectionSql(key = "key", reason = "reason"): string {
  return `coalesce(${key}, ${REJECTED} || ${reason})`;
}
/** True on a rejected row of a members table (column `key`). */
export const IS_REJECTION = `starts_with(key, ${REJECTED})`;
/** True on a member key of a members table (column `key`). */
export const IS_MEMBER_KEY = `NOT ${IS_REJECTION}`;
/** The reason of a rejected row of a members table. */
export const REJECTION_REASON = "substr(key, 2)";
