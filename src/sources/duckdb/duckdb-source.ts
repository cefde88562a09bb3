import type { DuckDBTypeId } from "@duckdb/node-api";
import type { DuckDbSourceConfig, ModelConfig } from "../../model/project.js";
import { duckdbApi } from "../duckdb-driver.js";
import type { DuckDbEngine } from "../duckdb-engine.js";
import { withSandboxHint } from "../sandbox.js";
import { modelSqlError } from "../source-error.js";
import { DEFAULT_BATCH_SIZE, modelQuery, type ColumnInfo, type ColumnKind, type RowBatch, type Source } from "../source.js";

const INTEGER_TYPES = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"] as const;

export function duckdbColumnKind(typeId: DuckDBTypeId): ColumnKind {
  const ids = duckdbApi().DuckDBTypeId;
  if (typeId === ids.VARCHAR) return "text";
  if (typeId === ids.UUID) return "uuid";
  return INTEGER_TYPES.some((name) => ids[name] === typeId) ? "integer" : "other";
}

/** A DuckDB source: its models run inside the engine, in the source's catalog. */
export class DuckDbSource implements Source {
  readonly type = "duckdb";
  readonly name: string;
  readonly config: DuckDbSourceConfig;
  readonly engine: DuckDbEngine;

  constructor(config: DuckDbSourceConfig, engine: DuckDbEngine) {
    this.name = config.name;
    this.config = config;
    this.engine = engine;
  }

  /** `engine`: a fork of the source's engine, to describe on its own connection. */
  async describe(model: ModelConfig, engine: DuckDbEngine = this.engine): Promise<ColumnInfo[]> {
    return this.run(model, async () => {
      const statement = await engine.connection.prepare(modelQuery(model));
      try {
        return Array.from({ length: statement.columnCount }, (_, i) => {
          const type = statement.columnType(i);
          return { name: statement.columnName(i), kind: duckdbColumnKind(type.typeId), typeName: type.toString() };
        });
      } finally {
        statement.destroySync();
      }
    }, engine);
  }

  async *stream(model: ModelConfig, batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<RowBatch> {
    const connection = await this.engine.readerConnection(await this.engine.catalogFor(this.config));
    try {
      let result;
      try {
        result = await connection.stream(modelQuery(model));
      } catch (error) {
        throw withSandboxHint(duckdbModelError(model, error), this.engine.sandbox, this.name);
      }
      const columns = result.columnNames();
      let rows: unknown[][] = [];
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (const row of chunk.convertRows(duckdbApi().JSDuckDBValueConverter)) {
          rows.push(row);
          if (rows.length >= batchSize) {
            yield { columns, rows };
            rows = [];
          }
        }
      }
      if (rows.length > 0) yield { columns, rows };
    } finally {
      connection.closeSync();
    }
  }

  /**
   * Runs `work` in this source's catalog, turning DuckDB errors into located model
   * errors. `engine`: a fork of the source's engine whose connection `work` uses
   * (the catalog is a setting of each connection).
   */
  async run<T>(model: ModelConfig, work: () => Promise<T>, engine: DuckDbEngine = this.engine): Promise<T> {
    const catalog = await engine.catalogFor(this.config);
    try {
      return await engine.inCatalog(catalog, work);
    } catch (error) {
      throw withSandboxHint(duckdbModelError(model, error), this.engine.sandbox, this.name);
    }
  }

  async close(): Promise<void> {
    // The engine owns the connection.
  }
}

/** DuckDB reports `LINE n:` with a caret under the spot; map it onto the model's file. */
export function duckdbModelError(model: ModelConfig, error: unknown): Error {
  if (!(error instanceof Error) || error.name === "CohoError") return error as Error;
  const message = error.message;
  const match = /LINE (\d+): (.*)\n(\s*)\^/.exec(message);
  if (!match) return modelSqlError(model, message);
  const line = Number(match[1]);
  const prefix = `LINE ${match[1]}: `.length;
  const echoed = match[2] ?? "";
  const sqlLine = modelQuery(model).split("\n")[line - 1] ?? "";
  // DuckDB elides long lines; only trust the caret when it echoed the line verbatim.
  const column = sqlLine.startsWith(echoed) ? Math.max(1, (match[3]?.length ?? 0) - prefix + 1) : 1;
  return modelSqlError(model, message, { line, column });
}
