import type { IdentifierConfig } from "../model/project.js";
import { literal } from "./duckdb-engine.js";

/** Longest identifier value coho sends (characters); longer ones are rejected. */
export const MAX_IDENTIFIER_LENGTH = 512;

export { REJECT_REASONS, type RejectReason } from "../model/reject-reason.js";

/** The member-key prefix of an identifier mapping: `external_id:`, `alias:<label>:`, `device_id:`. */
export function keyPrefix(identifier: IdentifierConfig): string {
  return identifier.type === "alias" ? `alias:${identifier.label}:` : `${identifier.type}:`;
}

/**
 * SQL (DuckDB) turning a relation of identifier text `v` (and primary key `pk`)
 * into candidate members: `key` for valid values, else a `reason`. The one place
 * the rules live, for every source:
 *   - null → `null`; empty or only whitespace (space, tab, LF, CR, FF, VT) →
 *     `empty` (values are never trimmed);
 *   - any control character (U+0000–U+001F, U+007F) → `control_characters`;
 *   - more than MAX_IDENTIFIER_LENGTH characters → `too_long`.
 * Valid values take one cheap test first, exact for them: no control character,
 * at least one character that is neither a space nor a control character (every
 * other whitespace character counted as empty is a control character), and at
 * most MAX_IDENTIFIER_LENGTH bytes (so at most as many characters). Only values
 * failing it go through the per-reason tests, in order, so each gets its reason.
 * `passThrough` columns of the relation are carried along (a cohort set's key).
 * Pure: builds text, runs nothing.
 */
export function candidatesSql(relation: string, identifier: IdentifierConfig, passThrough: readonly string[] = []): string {
  const extra = passThrough.map((column) => `, ${column}`).join("");
  return `SELECT pk${extra}, CASE WHEN reason IS NULL THEN ${literal(keyPrefix(identifier))} || v END AS key, reason
FROM (
  SELECT pk, v${extra}, CASE
    WHEN v IS NULL THEN 'null'
    WHEN strlen(v) <= ${MAX_IDENTIFIER_LENGTH} AND regexp_full_match(v, '[^\\x00-\\x1f\\x7f]*[^\\x00-\\x20\\x7f][^\\x00-\\x1f\\x7f]*') THEN NULL
    WHEN trim(v, chr(32) || chr(9) || chr(10) || chr(13) || chr(12) || chr(11)) = '' THEN 'empty'
    WHEN regexp_matches(v, '[\\x00-\\x1f\\x7f]') THEN 'control_characters'
    WHEN length(v) > ${MAX_IDENTIFIER_LENGTH} THEN 'too_long'
  END AS reason
  FROM (${relation}) AS coho_values
) AS coho_checked`;
}
