import { identifierParts, type IdentifierConfig } from "../model/project.js";
import { noRejections } from "../model/reject-reason.js";
import { exactText, literal, type DuckDbEngine } from "./duckdb-engine.js";
import { checkPrimaryKey, requireColumn } from "./extract-members.js";
import { REJECT_REASONS, candidatesSql, identifierValueSql, onlyWhiteSpaceSql, type RejectReason } from "./identifier-sql.js";
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
  readonly members: number;
  readonly rejected: Readonly<Record<RejectReason, number>>;
}

export interface GroupedMembers {
  /** Engine table (k VARCHAR, key VARCHAR): the distinct valid member keys of each key value. */
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
 * Identifier checks, primary-key check and dedup happen in the same pass for all
 * groups; key values follow the identifier rules with a 255-character cap. The
 * rows may be shared with other consumers (see model-rows.ts): the model ran once.
 */
export async function extractGroupedMembers(engine: DuckDbEngine, rows: ModelRows, identifier: IdentifierConfig, keyColumn: string | undefined): Promise<GroupedMembers> {
  const { model, columns } = rows;
  const parts = identifierParts(identifier);
  const values = parts.map((part) => requireColumn(model, columns, part.column, `identifier \`${part.name}\``));
  const pk = model.primaryKey === undefined ? undefined : requireColumn(model, columns, model.primaryKey, "primary_key");
  const key = keyColumn === undefined ? undefined : requireColumn(model, columns, keyColumn, "for_each.key");
  const label = keyColumn === undefined ? undefined : columns.find((c) => c.name === "label" && c.kind !== "other");
  const candidates = `memory.main.${engine.tempTable("grouped_candidates")}`;
  const connection = engine.connection;
  const picked = Object.fromEntries(values.map((column, i) => [`v${i}`, column] as const));
  const chosen = identifierValueSql(identifier, (name) => `v${parts.findIndex((p) => p.column === name)}`);
  const kp = identifier.type === "first_of" ? `${chosen.prefix} AS kp, ` : "";
  const relation = `SELECT pk, ${chosen.value} AS v, ${kp}${key ? "k" : "''"} AS k, label FROM (${rows.select({ pk, ...picked, k: key, label })}) AS coho_rows`;
  const checked = `SELECT *, ${key ? keyReasonSql("k") : "NULL::VARCHAR"} AS key_reason FROM (${candidatesSql(relation, identifier, ["k", "label"])}) AS coho_candidates`;
  await rows.run(engine, () => connection.run(`CREATE TABLE ${candidates} AS ${checked}`));
  if (pk && !rows.primaryKeyChecked) {
    await checkPrimaryKey(engine, candidates.slice("memory.main.".length), model);
    rows.primaryKeyChecked = true;
  }

  const table = `memory.main.${engine.tempTable("grouped_members")}`;
  await connection.run(`CREATE TABLE ${table} AS SELECT DISTINCT k, key FROM ${candidates} WHERE key_reason IS NULL AND key IS NOT NULL`);
  const groups = await groupStats(engine, candidates, table);
  const rejectedKeys = Object.fromEntries(KEY_REJECT_REASONS.map((r) => [r, { values: 0, rows: 0 }])) as Record<KeyRejectReason, { values: number; rows: number }>;
  const refused = await connection.runAndReadAll(`SELECT key_reason, count(DISTINCT k), count(*) FROM ${candidates} WHERE key_reason IS NOT NULL GROUP BY key_reason`);
  for (const [reason, values, count] of refused.getRows()) rejectedKeys[reason as KeyRejectReason] = { values: Number(values), rows: Number(count) };
  const total = await connection.runAndReadAll(`SELECT count(*) FROM ${candidates}`);
  await engine.drop(candidates);
  return { table, rows: Number(total.getRows()[0]?.[0] ?? 0), groups, rejectedKeys };
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

async function groupStats(engine: DuckDbEngine, candidates: string, members: string): Promise<Map<string, GroupStats>> {
  const reasons = REJECT_REASONS.filter((r) => r !== "duplicate");
  const perReason = reasons.map((r, i) => `count(*) FILTER (WHERE reason = ${literal(r)}) AS r${i}`).join(", ");
  const result = await engine.connection.runAndReadAll(
    `SELECT ${exactText("c.k")}, ${exactText("c.label")}, c.rows, c.valid, coalesce(m.members, 0), ${reasons.map((_, i) => `c.r${i}`).join(", ")}
     FROM (SELECT k, min(label) AS label, count(*) AS rows, count(key) AS valid, ${perReason}
           FROM ${candidates} WHERE key_reason IS NULL GROUP BY k) AS c
     LEFT JOIN (SELECT k, count(*) AS members FROM ${members} GROUP BY k) AS m ON m.k = c.k`,
  );
  const groups = new Map<string, GroupStats>();
  for (const row of result.getRows()) {
    const [k, label, rows, valid, count, ...byReason] = row;
    const rejected = { ...noRejections() } as Record<RejectReason, number>;
    reasons.forEach((reason, i) => (rejected[reason] = Number(byReason[i])));
    rejected.duplicate = Number(valid) - Number(count);
    groups.set(String(k), { label: label === null ? undefined : String(label), rows: Number(rows), members: Number(count), rejected });
  }
  return groups;
}
