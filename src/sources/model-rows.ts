import type { ModelConfig } from "../model/project.js";
import { ident, type DuckDbEngine } from "./duckdb-engine.js";
import { DuckDbSource } from "./duckdb/duckdb-source.js";
import { modelQuery, type ColumnInfo, type Source } from "./source.js";

/**
 * A model's rows, ready to be read by one or more consumers (a cohort set, the
 * cohorts sharing one identifier) without running the model again. Either the
 * model query itself (one consumer, DuckDB source: nothing is copied), or an
 * engine work table holding, as text, every column any consumer reads.
 */
export interface ModelRows {
  readonly model: ModelConfig;
  /** The model's columns as the source describes them (names and kinds). */
  readonly columns: readonly ColumnInfo[];
  /**
   * A relation of the given columns as VARCHAR, each under its alias; an
   * undefined column reads as NULL.
   */
  select(columns: Readonly<Record<string, ColumnInfo | undefined>>): string;
  /** Runs `work`, which reads `select(…)`, on `engine` (for a query: in the source's catalog, errors located in the model). */
  run<T>(engine: DuckDbEngine, work: () => Promise<T>): Promise<T>;
  /** Set once the primary key was checked: a model's rows need it only once. */
  primaryKeyChecked: boolean;
  /** Drops the work table, if any. */
  release(engine: DuckDbEngine): Promise<void>;
}

/** Describes a model on `engine`'s own connection when the source is DuckDB (a fork may not share another's). */
export function describeModel(engine: DuckDbEngine, source: Source, model: ModelConfig): Promise<ColumnInfo[]> {
  return source instanceof DuckDbSource ? source.describe(model, engine) : source.describe(model);
}

/**
 * Runs (or, for a lone consumer of a DuckDB model, prepares) a model's rows.
 * `needed` are the column names consumers will read; those the model lacks are
 * left out here and reported by each consumer, as if it ran the model alone.
 */
export async function openModelRows(engine: DuckDbEngine, source: Source, model: ModelConfig, needed: readonly string[], shared: boolean): Promise<ModelRows> {
  const columns = await describeModel(engine, source, model);
  const kept = [...new Set(needed.flatMap((name) => {
    const found = findColumn(columns, name);
    return found ? [found.name] : [];
  }))];
  const cast = (column: ColumnInfo | undefined) => (column ? `CAST(${ident(column.name)} AS VARCHAR)` : "NULL::VARCHAR");
  const aliases = (picked: Readonly<Record<string, ColumnInfo | undefined>>, value: (c: ColumnInfo | undefined) => string) =>
    Object.entries(picked).map(([alias, column]) => `${value(column)} AS ${alias}`).join(", ");
  if (source instanceof DuckDbSource && !shared) {
    return {
      model, columns, primaryKeyChecked: false,
      select: (picked) => `SELECT ${aliases(picked, cast)} FROM (${modelQuery(model)}) AS coho_model`,
      run: (on, work) => source.run(model, work, on),
      release: async () => undefined,
    };
  }
  const table = `memory.main.${engine.tempTable("model_rows")}`;
  if (source instanceof DuckDbSource) {
    const list = kept.map((name) => `CAST(${ident(name)} AS VARCHAR) AS ${ident(name)}`).join(", ") || "NULL::VARCHAR AS coho_none";
    await source.run(model, () => engine.connection.run(`CREATE TABLE ${table} AS SELECT ${list} FROM (${modelQuery(model)}) AS coho_model`), engine);
  } else {
    await engine.connection.run(`CREATE TABLE ${table} (${kept.map((name) => `${ident(name)} VARCHAR`).join(", ") || "coho_none VARCHAR"})`);
    await appendRows(engine, table, source, model, kept);
  }
  // Already text: the table's columns are read as they are.
  const stored = (column: ColumnInfo | undefined) => (column ? ident(column.name) : "NULL::VARCHAR");
  return {
    model, columns, primaryKeyChecked: false,
    select: (picked) => `SELECT ${aliases(picked, stored)} FROM ${table}`,
    run: (_on, work) => work(),
    release: (on) => on.drop(table),
  };
}

/** A model column, matched exactly, then ignoring case (PostgreSQL folds unquoted names). */
export function findColumn(columns: readonly ColumnInfo[], name: string): ColumnInfo | undefined {
  return columns.find((c) => c.name === name) ?? columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
}

/** Streams the named columns of a non-DuckDB model into an engine table through DuckDB's appender. */
async function appendRows(engine: DuckDbEngine, table: string, source: Source, model: ModelConfig, names: readonly string[]): Promise<void> {
  const appender = await engine.connection.createAppender(table.slice("memory.main.".length), "main", "memory");
  try {
    for await (const batch of source.stream(model, undefined, names)) {
      const at = names.map((n) => batch.columns.indexOf(n));
      if (at.length === 0) at.push(-1);
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
