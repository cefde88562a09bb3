import type { ModelConfig, SourceConfig } from "../model/project.js";
import type { PushDownTarget, SnapshotHome, SnapshotStore } from "./dialect.js";

/**
 * How coho turns an identifier column into text: it accepts text, integer and
 * UUID columns only (see docs/sources.md, "Identifier values"). Anything else — floats,
 * decimals, dates, lists — is refused for the whole column, because a rule for
 * them would silently differ between databases.
 */
export type ColumnKind = "text" | "integer" | "uuid" | "other";

export interface ColumnInfo {
  readonly name: string;
  readonly kind: ColumnKind;
  /** The database's own name for the type, for messages. */
  readonly typeName: string;
}

/** Rows as arrays, in column order: far lighter than one object per row. */
export interface RowBatch {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

/** A database coho reads models from. */
export interface Source {
  readonly name: string;
  readonly type: SourceConfig["type"];
  /** Column names and kinds of the model's result, without reading its rows. */
  describe(model: ModelConfig): Promise<ColumnInfo[]>;
  /**
   * The model's rows in batches; memory stays flat whatever the row count.
   * `columns`: the only columns the caller reads; a source may select just these
   * (BigQuery bills by the columns a query reads). Undefined: every column.
   */
  stream(model: ModelConfig, batchSize?: number, columns?: readonly string[]): AsyncIterable<RowBatch>;
  /** A warehouse's processing so far (bytes its dry runs reported), for the plan's cost line; undefined when it does not bill by bytes. */
  processed?(): { readonly bytes: number; readonly queries: number } | undefined;
  close(): Promise<void>;
  /**
   * Where this source can run the membership diff itself (sources/dialect.ts): given
   * where the state keeps its snapshots, a target when that is this very database,
   * else undefined (the model's rows are pulled through into the embedded engine).
   */
  pushDownTarget?(home: SnapshotHome): PushDownTarget | undefined;
  /** Where this source keeps coho's snapshots when `state.snapshots.source` names it (tables in `schema`). */
  snapshotStore?(schema: string): SnapshotStore;
}

export const DEFAULT_BATCH_SIZE = 10_000;

/** A model's SQL ready to wrap in a subquery: trailing semicolons and blanks dropped. */
export function modelQuery(model: ModelConfig): string {
  return model.sql.replace(/[\s;]+$/, "");
}
