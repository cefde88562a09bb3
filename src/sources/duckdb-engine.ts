import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { CohoError } from "../model/errors.js";
import type { DuckDbSourceConfig } from "../model/project.js";
import { duckdbApi } from "./duckdb-driver.js";
import { MEMORY_SHARE, machineMemoryBudget } from "./memory-budget.js";
import { projectSandbox, type EngineSandbox } from "./sandbox.js";
import { redactKnown } from "../model/redaction.js";

export interface EngineOptions {
  /** Folder that relative file paths in models (read_csv('data/x.csv')) resolve against. */
  readonly projectDir: string;
  /**
   * DuckDB's memory_limit, e.g. "2GB"; beyond it DuckDB spills to `tempDirectory`.
   * By default a share of the memory the machine (and its cgroup limits) allows: machineMemoryBudget.
   */
  readonly memoryLimit?: string;
  readonly tempDirectory?: string;
  readonly threads?: number;
  /** What models may open; by default the project's own entries (see projectSandbox). */
  readonly sandbox?: EngineSandbox;
}

/**
 * The embedded DuckDB that coho computes in: models of DuckDB sources run here,
 * rows of other sources are loaded here, and membership diffs are set operations
 * here. In memory; database files of DuckDB sources are attached read-only, so a
 * model can never change the warehouse.
 */
interface SharedState {
  readonly attached: Map<string, Promise<string>>;
  tables: number;
  workers: Promise<number> | undefined;
}

/** The engine's resource settings as DuckDB took them, for a debug event. */
export interface EngineSettings {
  /** DuckDB's memory_limit as it reports it (e.g. "11.1 GiB"). */
  readonly memoryLimit: string;
  /** "COHO_MEMORY_LIMIT" / "caller" when set explicitly, else what bounded the machine's share. */
  readonly memoryLimitFrom: string;
  readonly threads: number;
}

export class DuckDbEngine {
  readonly connection: DuckDBConnection;
  readonly #instance: DuckDBInstance;
  /** Shared by an engine and its forks: attached sources and the work-table counter. */
  readonly #shared: SharedState;
  readonly #isFork: boolean;

  /** What models may open (fixed for the engine's life: the configuration is locked). */
  readonly sandbox: EngineSandbox;
  /** Where the memory limit came from (see EngineSettings.memoryLimitFrom). */
  readonly #memoryLimitFrom: string;
  private constructor(instance: DuckDBInstance, connection: DuckDBConnection, sandbox: EngineSandbox, memoryLimitFrom: string, shared?: SharedState) {
    this.sandbox = sandbox;
    this.#memoryLimitFrom = memoryLimitFrom;
    this.#instance = instance;
    this.connection = connection;
    this.#shared = shared ?? { attached: new Map(), tables: 0, workers: undefined };
    this.#isFork = shared !== undefined;
  }

  static async create(options: EngineOptions): Promise<DuckDbEngine> {
    // A share of what the machine allows (DuckDB's own default, 80% of physical
    // memory, ignores Node's heap beside it); an explicit limit (COHO_MEMORY_LIMIT) wins.
    const budget = options.memoryLimit === undefined ? machineMemoryBudget() : undefined;
    const config: Record<string, string> = {
      memory_limit: options.memoryLimit ?? budget!.limit,
      // Extensions coho needs (parquet, json, icu) are built in: never download or load one at run time.
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
      allow_community_extensions: "false",
      // Memory DuckDB frees (a hash table after its GROUP BY, blocks once spilled)
      // goes back to the system from a background thread instead of lingering in
      // the allocator until a later task's threshold: a 10M-member plan peaked at
      // ~700 MB of RSS with it, 770–870 MB without, at the same CPU time.
      allocator_background_threads: "true",
    };
    if (options.threads) config.threads = String(options.threads);
    if (options.tempDirectory) {
      // DuckDB creates the spill folder itself, but not its parents: a project whose
      // state lives in PostgreSQL has no .coho/ yet, and a plan big enough to spill
      // would fail.
      mkdirSync(dirname(options.tempDirectory), { recursive: true });
      config.temp_directory = options.tempDirectory;
    }
    const instance = await duckdbApi().DuckDBInstance.create(":memory:", config);
    const connection = await instance.connect();
    const sandbox = options.sandbox ?? projectSandbox({ projectDir: options.projectDir });
    await lockDown(connection, options.projectDir, sandbox);
    return new DuckDbEngine(instance, connection, sandbox, budget ? `${MEMORY_SHARE * 100}% of ${budget.boundedBy}` : "set by the caller (COHO_MEMORY_LIMIT)");
  }

  /**
   * The same database (work tables, attached sources, sandbox) on a connection of
   * its own: DuckDB runs the statements of different connections in parallel.
   * Closing a fork closes only its connection.
   */
  async fork(): Promise<DuckDbEngine> {
    const connection = await this.#instance.connect();
    return new DuckDbEngine(this.#instance, connection, this.sandbox, this.#memoryLimitFrom, this.#shared);
  }

  /**
   * How many connections may usefully work at once: DuckDB's worker threads. Its
   * connections share one thread pool and one memory limit, so more in flight
   * would only queue (and hold more work tables in memory).
   */
  workers(): Promise<number> {
    this.#shared.workers ??= this.connection.runAndReadAll("SELECT current_setting('threads')").then((r) => Math.max(1, Number(r.getRows()[0]?.[0]) || 1));
    return this.#shared.workers;
  }

  /** The memory limit and threads DuckDB runs with, as it reports them. */
  async settings(): Promise<EngineSettings> {
    const rows = (await this.connection.runAndReadAll("SELECT current_setting('memory_limit'), current_setting('threads')")).getRows()[0]!;
    return { memoryLimit: String(rows[0]), memoryLimitFrom: this.#memoryLimitFrom, threads: Number(rows[1]) };
  }

  /**
   * A second connection with `catalog` as its default, for reading a streaming
   * result: a streaming result ends as soon as its connection runs anything else.
   * It inherits the global settings, sandbox included.
   */
  async readerConnection(catalog: string): Promise<DuckDBConnection> {
    const connection = await this.#instance.connect();
    await connection.run(`USE ${ident(catalog)}`);
    return connection;
  }

  /** The catalog a DuckDB source's models run in (`memory` for in-memory sources). */
  async catalogFor(source: DuckDbSourceConfig): Promise<string> {
    if (source.path === undefined) return "memory";
    const attached = this.#shared.attached;
    // One ATTACH per source, also when forks ask at once (attached databases are instance-wide).
    let catalog = attached.get(source.name);
    if (!catalog) {
      catalog = this.#attach(source, source.path);
      attached.set(source.name, catalog);
      catalog.catch(() => attached.delete(source.name));
    }
    return catalog;
  }

  async #attach(source: DuckDbSourceConfig, path: string): Promise<string> {
    if (!existsSync(path)) {
      throw new CohoError("source.duckdb_missing", `source ${source.name}: database file not found: ${redactKnown(source.path ?? "")}`, {
        location: source.origin,
        hint: "check `path` (relative to the file declaring the source), or omit it for an in-memory database",
      });
    }
    const catalog = `source_${source.name}`;
    await this.connection.run(`ATTACH ${literal(path)} AS ${ident(catalog)} (READ_ONLY)`);
    return catalog;
  }

  /** Runs `work` with `catalog` as the default, so a model's unqualified tables resolve there. */
  async inCatalog<T>(catalog: string, work: () => Promise<T>): Promise<T> {
    await this.connection.run(`USE ${ident(catalog)}`);
    try {
      return await work();
    } finally {
      await this.connection.run("USE memory");
    }
  }

  /**
   * A fresh name for a work table. Work tables live in the in-memory catalog
   * (`memory.main`), not in TEMP, so that a second connection can stream them.
   */
  tempTable(prefix: string): string {
    return `coho_${prefix}_${++this.#shared.tables}`;
  }

  /** Every key of a work table (column `key`), in order, streamed on its own connection. */
  async *keys(table: string, batchSize = 10_000): AsyncGenerator<string[]> {
    for await (const rows of this.textRows(`SELECT key FROM ${table} ORDER BY key`, batchSize)) yield rows.map((row) => row[0]!);
  }

  /**
   * Rows of a query over work tables, every column as text (SQL NULL as ""),
   * streamed on its own connection in chunks of at most `batchSize` rows.
   */
  async *textRows(sql: string, batchSize = 10_000): AsyncGenerator<string[][]> {
    const connection = await this.#instance.connect();
    try {
      const result = await connection.stream(sql);
      let batch: string[][] = [];
      for (;;) {
        const chunk = await result.fetchChunk();
        const rowCount = chunk?.rowCount ?? 0;
        if (!chunk || rowCount === 0) break;
        // Column vectors read directly: chunk.getRows() asks the native side for the
        // column count and builds two arrays per row (apply reads every changed key here).
        const columns = Array.from({ length: chunk.columnCount }, (_, index) => chunk.getColumnVector(index));
        for (let rowIndex = 0; rowIndex < rowCount; rowIndex++) {
          const row = new Array<string>(columns.length);
          for (let column = 0; column < columns.length; column++) {
            const value = columns[column]!.getItem(rowIndex);
            row[column] = value === null ? "" : String(value);
          }
          batch.push(row);
          if (batch.length >= batchSize) {
            yield batch;
            batch = [];
          }
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      connection.closeSync();
    }
  }

  /** Drops work tables that are no longer needed. */
  async drop(...tables: readonly string[]): Promise<void> {
    for (const table of tables) await this.connection.run(`DROP TABLE IF EXISTS ${table}`);
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    if (!this.#isFork) this.#instance.closeSync();
  }
}

/**
 * Model SQL may open only what the sandbox lists, and cannot change that: with
 * external access off DuckDB opens nothing outside the allowed directories and
 * paths (no other file, no URL, no extension), and the locked configuration
 * refuses any later SET, including one that would undo this.
 */
async function lockDown(connection: DuckDBConnection, projectDir: string, sandbox: EngineSandbox): Promise<void> {
  const list = (items: readonly string[]) => `[${items.map(literal).join(", ")}]`;
  await connection.run(`SET GLOBAL file_search_path = ${literal(projectDir)}`);
  await connection.run(`SET GLOBAL allowed_directories = ${list(sandbox.directories)}`);
  await connection.run(`SET GLOBAL allowed_paths = ${list(sandbox.paths)}`);
  await connection.run("SET GLOBAL enable_external_access = false");
  await connection.run("SET GLOBAL lock_configuration = true");
}

/** A SQL string literal. */
/**
 * A VARCHAR expression to read into JavaScript exactly. @duckdb/node-api decodes
 * text with a default TextDecoder, which drops a leading byte-order mark
 * (U+FEFF): `'\uFEFFx'` would arrive as `'x'`, and `'\uFEFF'` as `''`. One BOM
 * put in front is the one the decoder drops, so the value arrives byte for byte
 * (NULL stays NULL). Member keys need none (they start with their kind,
 * `external_id:`…); bare values read back into JavaScript (set key values, labels) do.
 */
export function exactText(expression: string): string {
  return `(chr(65279) || ${expression})`;
}

export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
