import { CohoError } from "../model/errors.js";
import { identifierParts, type IdentifierConfig, type ModelConfig } from "../model/project.js";
import { extractGroupedMembers } from "./extract-grouped-members.js";
import { openModelRows } from "./model-rows.js";
import { exactText, ident, type DuckDbEngine } from "./duckdb-engine.js";
import { DuckDbSource } from "./duckdb/duckdb-source.js";
import { IS_MEMBER_KEY, IS_REJECTION, REJECTION_REASON, REJECT_REASONS, candidatesSql, memberOrRejectionSql, type RejectReason } from "./identifier-sql.js";
import { modelQuery, type ColumnInfo, type Source } from "./source.js";

export interface ExtractedMembers {
  /**
   * A relation (parenthesised subquery over an engine work table) with one VARCHAR
   * column `key`: every valid member key, a duplicated one as often as the model
   * returned it. The membership diff takes it as it is: deduplicating 10M keys
   * up front is a hash aggregation as costly as the diff's own join, and the diff
   * only has to deduplicate its (small) result.
   */
  readonly keys: string;
  /** The same keys, each once: for readers other than the diff (a DISTINCT, computed when read). */
  readonly table: string;
  /** Rows the model returned. */
  readonly rows: number;
  /** Rows with a valid key (members plus duplicates). */
  readonly validRows: number;
  /**
   * Rows that did not become members, by reason (every reason present, 0 when
   * none). `duplicate` is 0 here: it is validRows minus the distinct members,
   * which the diff counts (see withDuplicates).
   */
  readonly rejected: Readonly<Record<RejectReason, number>>;
}

/** The rejections with `duplicate` filled in, once the diff has counted the distinct members. */
export function withDuplicates(extracted: ExtractedMembers, members: number): Record<RejectReason, number> {
  return { ...extracted.rejected, duplicate: extracted.validRows - members };
}

/**
 * Runs a model and turns its rows into member keys inside the engine. DuckDB
 * models run in place; other sources' rows are streamed into the engine first
 * (identifier and primary-key columns only). Either way the keys are computed by
 * the same SQL (identifier-sql.ts), so every source follows the same rules.
 */
export async function extractMembers(engine: DuckDbEngine, source: Source, model: ModelConfig, identifier: IdentifierConfig): Promise<ExtractedMembers> {
  if (identifier.type === "first_of") return extractFirstOf(engine, source, model, identifier);
  const columns = await source.describe(model);
  const value = requireColumn(model, columns, identifier.column, `identifier \`${identifier.name}\``);
  const pk = model.primaryKey === undefined ? undefined : requireColumn(model, columns, model.primaryKey, "primary_key");
  const connection = engine.connection;
  const table = engine.tempTable("members");
  // Each row checked once and kept as it is (no grouping here, see ExtractedMembers.keys),
  // in one column: its key or its reason (memberOrRejectionSql).
  const groupInto = (relation: string) =>
    `CREATE TABLE memory.main.${table} AS SELECT ${memberOrRejectionSql()} AS key FROM (${candidatesSql(relation, identifier)}) AS coho_candidates`;

  if (source instanceof DuckDbSource) {
    const pkExpr = pk ? `CAST(${ident(pk.name)} AS VARCHAR)` : "NULL::VARCHAR";
    const relation = `SELECT ${pkExpr} AS pk, CAST(${ident(value.name)} AS VARCHAR) AS v FROM (${modelQuery(model)}) AS coho_model`;
    if (pk) {
      // The primary-key check needs the rows themselves: keep them once, check, group.
      const raw = engine.tempTable("raw");
      await source.run(model, () => connection.run(`CREATE TABLE memory.main.${raw} AS ${relation}`));
      await checkPrimaryKey(engine, raw, model);
      await connection.run(groupInto(`SELECT pk, v FROM memory.main.${raw}`));
      await connection.run(`DROP TABLE memory.main.${raw}`);
    } else {
      await source.run(model, () => connection.run(groupInto(relation)));
    }
  } else {
    // The pk column is stored only when there is a primary key to check.
    const raw = engine.tempTable("raw");
    await connection.run(`CREATE TABLE memory.main.${raw} (${pk ? "pk VARCHAR, " : ""}v VARCHAR)`);
    await loadColumns(engine, raw, source, model, value.name, pk?.name);
    if (pk) await checkPrimaryKey(engine, raw, model);
    await connection.run(groupInto(`SELECT ${pk ? "pk" : "NULL::VARCHAR AS pk"}, v FROM memory.main.${raw}`));
    await connection.run(`DROP TABLE memory.main.${raw}`);
  }

  const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  let rows = 0;
  let validRows = 0;
  const groups = await connection.runAndReadAll(
    `SELECT CASE WHEN ${IS_REJECTION} THEN ${REJECTION_REASON} END AS reason, count(*) AS n FROM memory.main.${table} GROUP BY ALL`,
  );
  for (const [reason, n] of groups.getRows()) {
    rows += Number(n);
    if (reason === null) validRows = Number(n);
    else rejected[reason as RejectReason] = Number(n);
  }
  const keys = `(SELECT key FROM memory.main.${table} WHERE ${IS_MEMBER_KEY})`;
  return { keys, table: `(SELECT DISTINCT key FROM memory.main.${table} WHERE ${IS_MEMBER_KEY})`, rows, validRows, rejected };
}

/** A model column, matched exactly, then ignoring case (PostgreSQL folds unquoted names). */
export function requireColumn(model: ModelConfig, columns: readonly ColumnInfo[], name: string, role: string): ColumnInfo {
  const found = columns.find((c) => c.name === name) ?? columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
  if (!found) {
    throw new CohoError("source.missing_column", `model ${model.name} has no column \`${name}\` (needed by ${role}); its columns are: ${columns.map((c) => c.name).join(", ") || "(none)"}`, {
      location: model.sqlOrigin,
      hint: `select a column named ${name} in models.${model.name}, or change the mapping`,
    });
  }
  if (found.kind === "other") {
    throw new CohoError("source.column_type", `model ${model.name}: column \`${found.name}\` (needed by ${role}) is ${found.typeName}; identifiers must be text, integer or UUID columns`, {
      location: model.sqlOrigin,
      hint: `cast it in the SQL, e.g. CAST(${found.name} AS VARCHAR), if that text is what Braze knows`,
    });
  }
  return found;
}

/** A NULL primary key identifies no row: its own error, never "not unique". */
export function throwIfNullKeys(model: ModelConfig, rows: number): void {
  if (rows === 0) return;
  throw new CohoError("source.primary_key_null", `model ${model.name}: primary_key \`${model.primaryKey}\` is NULL in ${rows.toLocaleString("en")} row${rows === 1 ? "" : "s"}; a primary key must identify every row`, {
    location: model.origin,
    hint: "filter those rows out in the SQL (WHERE ... IS NOT NULL), or choose a primary_key that is never NULL",
  });
}

/** A primary key seen twice is an error naming the model and one such key. */
export async function checkPrimaryKey(engine: DuckDbEngine, rows: string, model: ModelConfig): Promise<void> {
  const nulls = await engine.connection.runAndReadAll(`SELECT count(*) FROM memory.main.${rows} WHERE pk IS NULL`);
  throwIfNullKeys(model, Number(nulls.getRows()[0]?.[0] ?? 0));
  const result = await engine.connection.runAndReadAll(
    `SELECT ${exactText("pk::VARCHAR")}, count(*) AS n FROM memory.main.${rows} WHERE pk IS NOT NULL GROUP BY pk HAVING count(*) > 1 ORDER BY n DESC, pk LIMIT 1`,
  );
  const row = result.getRows()[0];
  if (!row) return;
  const [key, count] = row;
  const shown = key === null ? "NULL" : JSON.stringify(String(key));
  throw new CohoError("source.primary_key_not_unique", `model ${model.name}: primary_key \`${model.primaryKey}\` is not unique: ${shown} appears ${Number(count)} times`, {
    location: model.origin,
    hint: "deduplicate in the SQL (e.g. SELECT DISTINCT or GROUP BY), or choose another primary_key",
  });
}

/** Streams the identifier column (and the primary key's, first, if any) of a model into an engine table through DuckDB's appender. */
async function loadColumns(engine: DuckDbEngine, table: string, source: Source, model: ModelConfig, valueColumn: string, pkColumn: string | undefined): Promise<void> {
  const appender = await engine.connection.createAppender(table, "main", "memory");
  try {
    for await (const batch of source.stream(model, undefined, pkColumn === undefined ? [valueColumn] : [pkColumn, valueColumn])) {
      const vi = batch.columns.indexOf(valueColumn);
      if (pkColumn === undefined) {
        for (const row of batch.rows) {
          appendText(appender, row[vi]);
          appender.endRow();
        }
      } else {
        const pi = batch.columns.indexOf(pkColumn);
        for (const row of batch.rows) {
          appendText(appender, row[pi]);
          appendText(appender, row[vi]);
          appender.endRow();
        }
      }
      appender.flushSync();
    }
  } finally {
    appender.closeSync();
  }
}

/** Integers and UUIDs arrive as numbers or strings; both become their decimal/canonical text. */
function appendText(appender: { appendVarchar(v: string): void; appendNull(): void }, value: unknown): void {
  if (value === null || value === undefined) appender.appendNull();
  else appender.appendVarchar(typeof value === "string" ? value : String(value));
}

/**
 * A list of identifiers reads several columns of each row: the model's rows go
 * through the grouped road (model-rows.ts, any columns, every source) as one
 * group, with the same rules and counts.
 */
async function extractFirstOf(engine: DuckDbEngine, source: Source, model: ModelConfig, identifier: IdentifierConfig): Promise<ExtractedMembers> {
  const needed = [...identifierParts(identifier).map((p) => p.column), ...(model.primaryKey === undefined ? [] : [model.primaryKey])];
  const rows = await openModelRows(engine, source, model, needed, false);
  try {
    const grouped = await extractGroupedMembers(engine, rows, identifier, undefined);
    const group = grouped.groups.get("");
    const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, r === "duplicate" ? 0 : (group?.rejected[r] ?? 0)])) as Record<RejectReason, number>;
    // Duplicates are counted by the diff, as for any single cohort (withDuplicates).
    return { keys: `(SELECT key FROM ${grouped.table})`, table: `(SELECT DISTINCT key FROM ${grouped.table})`, rows: grouped.rows, validRows: group?.valid ?? 0, rejected };
  } finally {
    await rows.release(engine);
  }
}
