import { identifierParts, type IdentifierConfig } from "../model/project.js";
import { noRejections } from "../model/reject-reason.js";
import { exactText, type DuckDbEngine } from "./duckdb-engine.js";
import { checkPrimaryKey, requireColumn } from "./extract-members.js";
import { IS_MEMBER_KEY, IS_REJECTION, REJECTION_REASON, candidatesSql, identifierValueSql, memberOrRejectionSql, onlyWhiteSpaceSql, type RejectReason } from "./identifier-sql.js";
import type { ModelRows } from "./model-rows.js";

/** Longest key value of a cohort set (it becomes part of a Braze cohort name). */
export const MAX_SET_KEY_LENGTH = 255;
export const KEY_REJECT_REASONS = ["null", "empty", "control_characters", "too_long"] as const;
export type KeyRejectReason = (typeof KEY_REJECT_REASONS)[number];

/** One key value's share of the model's rows. */
export interface GroupStats {
  /** The model's `label` column for this key (the smallest, when rows disagree). */
  readonly label: string | undefined;
  readonly rows: number;
  /** Rows with a valid member key: the members plus their duplicates (the diff counts the distinct members). */
  readonly valid: number;
  /** Rows refused, by reason; `duplicate` is 0 here (valid minus the members the diff counts). */
  readonly rejected: Readonly<Record<RejectReason, number>>;
}

export interface GroupedMembers {
  /**
   * A relation (k VARCHAR, key VARCHAR): the valid member keys of each key value,
   * a duplicated one as often as the model returned it. Deduplicating every row up
   * front costs as much as the diff's own join (and a second copy of the rows); the
   * diff deduplicates its small result instead. Readers wanting each key once say DISTINCT.
   */
  readonly table: string;
  readonly rows: number;
  /** Per valid key value (the empty string when the model is not grouped). */
  readonly groups: ReadonlyMap<string, GroupStats>;
  /** Rows whose key value was refused, by reason: distinct values and rows. */
  readonly rejectedKeys: Readonly<Record<KeyRejectReason, { readonly values: number; readonly rows: number }>>;
}


/**
 * Turns a model's rows into member keys grouped by `keyColumn` (a cohort set),
 * or into one group '' (every cohort sharing this model and identifier).
 * Identifier checks and the primary-key check happen in the same pass for all
 * groups (no dedup: see GroupedMembers.table); key values follow the identifier rules with a 255-character cap. The
 * rows may be shared with other consumers (see model-rows.ts): the model ran once.
 */
export async function extractGroupedMembers(engine: DuckDbEngine, rows: ModelRows, identifier: IdentifierConfig, keyColumn: string | undefined): Promise<GroupedMembers> {
  const { model, columns } = rows;
  const parts = identifierParts(identifier);
  const values = parts.map((part) => requireColumn(model, columns, part.column, `identifier \`${part.name}\``));
  const pk = model.primaryKey === undefined ? undefined : requireColumn(model, columns, model.primaryKey, "primary_key");
  const key = keyColumn === undefined ? undefined : requireColumn(model, columns, keyColumn, "for_each.key");
  const label = keyColumn === undefined ? undefined : columns.find((c) => c.name === "label" && c.kind !== "other");
  const candidates = `memory.main.${engine.tempTable("grouped_members")}`;
  const connection = engine.connection;
  const picked = Object.fromEntries(values.map((column, i) => [`v${i}`, column] as const));
  const chosen = identifierValueSql(identifier, (name) => `v${parts.findIndex((p) => p.column === name)}`);
  const kp = identifier.type === "first_of" ? `${chosen.prefix} AS kp, ` : "";
  const relation = `SELECT pk, ${chosen.value} AS v, ${kp}${key ? "k" : "''"} AS k, label FROM (${rows.select({ pk, ...picked, k: key, label })}) AS coho_rows`;
  // Only the columns read later are kept (a column NULL on every row still costs
  // DuckDB 16 bytes a row): the primary key while unchecked, the key value when
  // there is a key column, the label when the model has one; the member key and
  // its rejection reason share one column (memberOrRejectionSql). Key values are
  // checked per value, once grouped, not per row.
  const checkPk = pk !== undefined && !rows.primaryKeyChecked;
  const kept = [...(checkPk ? ["pk"] : []), ...(key ? ["k"] : []), ...(label ? ["label"] : []), `${memberOrRejectionSql()} AS key`];
  const checked = `SELECT ${kept.join(", ")} FROM (${candidatesSql(relation, identifier, ["k", "label"])}) AS coho_candidates`;
  await rows.run(engine, () => connection.run(`CREATE TABLE ${candidates} AS ${checked}`));
  if (checkPk) {
    await checkPrimaryKey(engine, candidates.slice("memory.main.".length), model);
    rows.primaryKeyChecked = true;
  }
  const { groups, rejectedKeys, rows: total } = await groupStats(engine, candidates, key !== undefined, label !== undefined);
  // Rows of refused key values stay in the table: no instance (slot) is ever of their value.
  const table = `(SELECT ${key ? "k" : "''"} AS k, key FROM ${candidates} WHERE ${IS_MEMBER_KEY})`;
  return { table, rows: total, groups, rejectedKeys };
}

/** The key-value rules: like identifier values, capped at MAX_SET_KEY_LENGTH. */
function keyReasonSql(column: string): string {
  return `CASE
    WHEN ${column} IS NULL THEN 'null'
    WHEN ${onlyWhiteSpaceSql(column, "trim")} THEN 'empty'
    WHEN regexp_matches(${column}, '[\\x00-\\x1f\\x7f]') THEN 'control_characters'
    WHEN length(${column}) > ${MAX_SET_KEY_LENGTH} THEN 'too_long'
  END`;
}

/**
 * Per key value: its rows, member-key rows and label, its rejected rows by reason,
 * and whether the value itself is refused (those become rejectedKeys, not groups).
 */
async function groupStats(engine: DuckDbEngine, candidates: string, keyed: boolean, labelled: boolean): Promise<Pick<GroupedMembers, "groups" | "rejectedKeys" | "rows">> {
  const k = keyed ? "k" : "''";
  const result = await engine.connection.runAndReadAll(
    `SELECT ${exactText(k)}, ${keyed ? keyReasonSql("k") : "NULL"}, ${labelled ? exactText("min(label)") : "NULL"}, count(*) AS rows, count(*) FILTER (WHERE ${IS_MEMBER_KEY}) AS valid
     FROM ${candidates}${keyed ? " GROUP BY k" : " HAVING count(*) > 0"}`,
  );
  // Rejected rows are few: their reasons are read from them alone.
  const reasons = await engine.connection.runAndReadAll(
    `SELECT ${exactText(k)}, ${REJECTION_REASON}, count(*) FROM ${candidates} WHERE ${IS_REJECTION} GROUP BY ${keyed ? "k, " : ""}key`,
  );
  const rejectedOf = new Map<string, Record<RejectReason, number>>();
  for (const [group, reason, n] of reasons.getRows()) {
    const rejected = rejectedOf.get(String(group)) ?? { ...noRejections() };
    rejected[reason as RejectReason] = Number(n);
    rejectedOf.set(String(group), rejected);
  }
  const groups = new Map<string, GroupStats>();
  const rejectedKeys = Object.fromEntries(KEY_REJECT_REASONS.map((r) => [r, { values: 0, rows: 0 }])) as Record<KeyRejectReason, { values: number; rows: number }>;
  let total = 0;
  for (const [group, keyReason, label, rows, valid] of result.getRows()) {
    total += Number(rows);
    if (keyReason !== null) {
      // A NULL key value counts its rows, not as a value (as count(DISTINCT k) would).
      const refused = rejectedKeys[keyReason as KeyRejectReason];
      rejectedKeys[keyReason as KeyRejectReason] = { values: refused.values + (group === null ? 0 : 1), rows: refused.rows + Number(rows) };
      continue;
    }
    const rejected = rejectedOf.get(String(group)) ?? { ...noRejections() };
    groups.set(String(group), { label: label === null ? undefined : String(label), rows: Number(rows), valid: Number(valid), rejected });
  }
  return { groups, rejectedKeys, rows: total };
}
