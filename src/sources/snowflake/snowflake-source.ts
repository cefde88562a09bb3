import type { ModelConfig, SnowflakeSourceConfig } from "../../model/project.js";
import type { PushDownTarget, SnapshotHome, SnapshotStore } from "../dialect.js";
import { DEFAULT_BATCH_SIZE, modelQuery, type ColumnInfo, type ColumnKind, type RowBatch, type Source } from "../source.js";
import { SNOWFLAKE_DIALECT, quote } from "./dialect.js";
import { SnowflakeConnection, type SnowflakeColumn, type SnowflakeStatement } from "./snowflake-connection.js";
import { snowflakeError } from "./snowflake-errors.js";
import { snowflakeSession } from "./snowflake-session.js";
import { SnowflakeSnapshotStore } from "./snowflake-snapshots.js";
import { queryTag } from "./query-tag.js";

/** The schema of coho's snapshots unless the state's snapshots setting names another. */
export const DEFAULT_STATE_SCHEMA = "coho_state";

/** A column as coho reads identifiers: text, or an integer (NUMBER with scale 0); anything else is refused for identifiers. */
export function columnKind(column: SnowflakeColumn): { kind: ColumnKind; typeName: string } {
  if (column.type === "text") return { kind: "text", typeName: "VARCHAR" };
  if (column.type === "fixed") return { kind: column.scale === 0 ? "integer" : "other", typeName: `NUMBER(${column.precision ?? 38},${column.scale ?? 0})` };
  // The driver names FLOAT/DOUBLE columns `real`; Snowflake's documentation says FLOAT.
  return { kind: "other", typeName: column.type === "real" ? "FLOAT" : column.type.toUpperCase() };
}

/**
 * A Snowflake source. A model's columns come from compiling it (describeOnly: no
 * warehouse time); its rows stream through the driver's result chunks, the columns
 * coho reads converted to text by Snowflake (TO_VARCHAR), so no number is rounded on
 * the way. Every statement carries a QUERY_TAG naming coho, the source, the model
 * and its cohorts.
 */
export class SnowflakeSource implements Source {
  readonly type = "snowflake";
  readonly name: string;
  readonly config: SnowflakeSourceConfig;
  readonly #cohortsOf: (model: string) => readonly string[];
  readonly #connection: SnowflakeConnection;

  constructor(config: SnowflakeSourceConfig, cohortsOf: (model: string) => readonly string[] = () => []) {
    this.name = config.name;
    this.config = config;
    this.#cohortsOf = cohortsOf;
    this.#connection = new SnowflakeConnection(config);
  }

  async describe(model: ModelConfig): Promise<ColumnInfo[]> {
    const statement = { sql: modelQuery(model), describeOnly: true, tag: this.#tag(model) };
    try {
      const { columns } = await this.#connection.execute(statement);
      return columns.map((c) => ({ name: c.name, ...columnKind(c) }));
    } catch (error) {
      throw this.#error(error, model, 0, this.#connection);
    }
  }

  async *stream(model: ModelConfig, batchSize = DEFAULT_BATCH_SIZE, columns?: readonly string[]): AsyncIterable<RowBatch> {
    const wrapped = columns !== undefined && columns.length > 0;
    const sql = wrapped ? `SELECT ${columns.map((c) => `TO_VARCHAR(${quote(c)}) AS ${quote(c)}`).join(", ")} FROM (\n${modelQuery(model)}\n) AS coho_model` : modelQuery(model);
    let names: string[] = [];
    try {
      for await (const page of this.#connection.pages({ sql, tag: this.#tag(model) }, batchSize, (cols) => (names = cols.map((c) => c.name)))) {
        yield { columns: names, rows: page };
      }
    } catch (error) {
      throw this.#error(error, model, wrapped ? 1 : 0, this.#connection);
    }
  }

  /**
   * Push-down into Snowflake when the state keeps its snapshots in this source
   * (state.snapshots.source): the diff runs on a connection of its own (its work
   * table is its own), in the source's database.
   */
  pushDownTarget(home: SnapshotHome): PushDownTarget | undefined {
    if (home.location.kind !== "source" || home.location.source !== this.name) return undefined;
    let lastSql = "";
    let session: SnowflakeConnection | undefined;
    return {
      dialect: SNOWFLAKE_DIALECT,
      open: async () => {
        const connection = new SnowflakeConnection(this.config);
        session = connection;
        const tag = queryTag(this.name, { work: "push-down" });
        const run = (statement: Omit<SnowflakeStatement, "tag">) => {
          lastSql = statement.sql;
          return { ...statement, tag };
        };
        return snowflakeSession(
          {
            execute: async (statement) => (await connection.execute(run(statement))).rows,
            pages: (statement, pageSize) => connection.pages(run(statement), pageSize),
            close: () => connection.close(),
          },
          home.snapshots.slice(0, home.snapshots.lastIndexOf(".")) || DEFAULT_STATE_SCHEMA,
        );
      },
      // Snowflake reports `line N at position M` of the whole statement: the lines
      // coho wrote before the model's SQL (which always starts a line) are taken off.
      queryError: (model, error) => {
        const at = lastSql.indexOf(modelQuery(model));
        return this.#error(error, model, at < 0 ? 0 : lastSql.slice(0, at).split("\n").length - 1, session ?? this.#connection);
      },
    };
  }

  /** coho's snapshots in `schema` of this source's database (the state's snapshots setting). */
  snapshotStore(schema: string): SnapshotStore {
    const tag = queryTag(this.name, { work: "state" });
    const runner = {
      rows: async (sql: string, binds: readonly (string | number | boolean | null)[] = []) => {
        try {
          return (await this.#connection.execute({ sql, binds, tag })).rows;
        } catch (error) {
          throw this.#error(error, undefined, 0, this.#connection);
        }
      },
      pages: (sql: string, binds: readonly (string | number | boolean | null)[], pageSize: number) => this.#statePages(sql, binds, pageSize, tag),
    };
    return new SnowflakeSnapshotStore(runner, this.name, schema);
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }

  async *#statePages(sql: string, binds: readonly (string | number | boolean | null)[], pageSize: number, tag: string): AsyncIterable<readonly unknown[][]> {
    try {
      yield* this.#connection.pages({ sql, binds, tag }, pageSize);
    } catch (error) {
      throw this.#error(error, undefined, 0, this.#connection);
    }
  }

  #tag(model: ModelConfig): string {
    return queryTag(this.name, { model: model.name, cohorts: this.#cohortsOf(model.name) });
  }

  #error(error: unknown, model: ModelConfig | undefined, lineOffset: number, connection: SnowflakeConnection): Error {
    return snowflakeError(this.config, error, { model, lineOffset, answered: connection.answered });
  }
}
