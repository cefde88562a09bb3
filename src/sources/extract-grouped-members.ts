import type { IdentifierConfig, ModelConfig } from "../model/project.js";
import { noRejections } from "../model/reject-reason.js";
import { ident, literal, type DuckDbEngine } from "./duckdb-engine.js";
import { DuckDbSource } from "./duckdb-source.js";
import { checkPrimaryKey, requireColumn } from "./extract-members.js";
import { REJECT_REASONS, candidatesSql, type RejectReason } from "./identifier-sql.js";
import { modelQuery, type Source } from "./source.js";

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

const WHITESPACE = "chr(32) || chr(9) || chr(10) || chr(13) || chr(12) || chr(11)";

/**
 * Runs a model once and turns its rows into member keys grouped by `keyColumn`
 * (a cohort set), or into one group '' (every cohort sharing this model and
 * identifier). Identifier checks, primary-key check and dedup happen in the same
 * pass for all groups; key values follow the identifier rules with a 255-character cap.
 */
export async function extractGroupedMembers(
  engine: DuckDbEngine,
  source: Source,
  model: ModelConfig,
  identifier: IdentifierConfig,
  keyColumn: string | undefined,
): Promise<GroupedMembers> {
  const columns = await source.describe(model);
  const value = requireColumn(model, columns, identifier.column, `identifier \`${identifier.name}\``);
  const pk = model.primaryKey === undefined ? undefined : requireColumn(model, columns, model.primaryKey, "primary_key");
  const key = keyColumn === undefined ? undefined : requireColumn(model, columns, keyColumn, "for_each.key");
  const label = keyColumn === undefined ? undefined : columns.find((c) => c.name === "label" && c.kind !== "other");
  const text = (column: { name: string } | undefined) => (column ? `CAST(${ident(column.name)} AS VARCHAR)` : "NULL::VARCHAR");
  const candidates = `memory.main.${engine.tempTable("grouped_candidates")}`;
  const connection = engine.connection;
  const keyText = key ? text(key) : "''";
  const checked = (relation: string) =>
    `SELECT *, ${key ? keyReasonSql("k") : "NULL::VARCHAR"} AS key_reason FROM (${candidatesSql(relation, identifier, ["k", "label"])}) AS coho_candidates`;

  if (source instanceof DuckDbSource) {
    const relation = `SELECT ${text(pk)} AS pk, ${text(value)} AS v, ${keyText} AS k, ${text(label)} AS label FROM (${modelQuery(model)}) AS coho_model`;
    await source.run(model, () => connection.run(`CREATE TABLE ${candidates} AS ${checked(relation)}`));
  } else {
    const raw = `memory.main.${engine.tempTable("grouped_raw")}`;
    await connection.run(`CREATE TABLE ${raw} (pk VARCHAR, v VARCHAR, k VARCHAR, label VARCHAR)`);
    await loadRows(engine, raw, source, model, [pk?.name, value.name, key?.name, label?.name]);
    if (!key) await connection.run(`UPDATE ${raw} SET k = ''`);
    await connection.run(`CREATE TABLE ${candidates} AS ${checked(`SELECT * FROM ${raw}`)}`);
    await engine.drop(raw);
  }
  if (pk) await checkPrimaryKey(engine, candidates.slice("memory.main.".length), model);

  const table = `memory.main.${engine.tempTable("grouped_members")}`;
  await connection.run(`CREATE TABLE ${table} AS SELECT DISTINCT k, key FROM ${candidates} WHERE key_reason IS NULL AND key IS NOT NULL`);
  const groups = await groupStats(engine, candidates, table);
  const rejectedKeys = Object.fromEntries(KEY_REJECT_REASONS.map((r) => [r, { values: 0, rows: 0 }])) as Record<KeyRejectReason, { values: number; rows: number }>;
  const refused = await connection.runAndReadAll(`SELECT key_reason, count(DISTINCT k), count(*) FROM ${candidates} WHERE key_reason IS NOT NULL GROUP BY key_reason`);
  for (const [reason, values, rows] of refused.getRows()) rejectedKeys[reason as KeyRejectReason] = { values: Number(values), rows: Number(rows) };
  const total = await connection.runAndReadAll(`SELECT count(*) FROM ${candidates}`);
  await engine.drop(candidates);
  return { table, rows: Number(total.getRows()[0]?.[0] ?? 0), groups, rejectedKeys };
}

/** The key-value rules: like identifier values, capped at MAX_SET_KEY_LENGTH. */
function keyReasonSql(column: string): string {
  return `CASE
    WHEN ${column} IS NULL THEN 'null'
    WHEN trim(${column}, ${WHITESPACE}) = '' THEN 'empty'
    WHEN regexp_matches(${column}, '[\\x00-\\x1f\\x7f]') THEN 'control_characters'
    WHEN length(${column}) > ${MAX_SET_KEY_LENGTH} THEN 'too_long'
  END`;
}

async function groupStats(engine: DuckDbEngine, candidates: string, members: string): Promise<Map<string, GroupStats>> {
  const reasons = REJECT_REASONS.filter((r) => r !== "duplicate");
  const perReason = reasons.map((r, i) => `count(*) FILTER (WHERE reason = ${literal(r)}) AS r${i}`).join(", ");
  const result = await engine.connection.runAndReadAll(
    `SELECT c.k, c.label, c.rows, c.valid, coalesce(m.members, 0), ${reasons.map((_, i) => `c.r${i}`).join(", ")}
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

/** Streams up to four columns (pk, value, key, label; absent ones as NULL) into an engine table. */
async function loadRows(engine: DuckDbEngine, table: string, source: Source, model: ModelConfig, names: readonly (string | undefined)[]): Promise<void> {
  const [schema, name] = ["main", table.slice("memory.main.".length)];
  const appender = await engine.connection.createAppender(name, schema, "memory");
  try {
    for await (const batch of source.stream(model)) {
      const at = names.map((n) => (n === undefined ? -1 : batch.columns.indexOf(n)));
      for (const row of batch.rows) {
        for (const i of at) {
          const v = i < 0 ? null : row[i];
          if (v === null || v === undefined) appender.appendNull();
          else appender.appendVarchar(typeof v === "string" ? v : String(v));
        }
        appender.endRow();
      }
      appender.flushSync();
    }
  } finally {
    appender.closeSync();
  }
}
