import { readFileSync } from "node:fs";
import type pg from "pg";
import type Cursor from "pg-cursor";
import { isLoopbackHost } from "../model/braze-instances.js";
import { CohoError } from "../model/errors.js";
import type { ModelConfig, PostgresSourceConfig } from "../model/project.js";
import { modelSqlError, offsetToPosition } from "./source-error.js";
import { DEFAULT_BATCH_SIZE, modelQuery, type ColumnInfo, type ColumnKind, type RowBatch, type Source } from "./source.js";
import { pgDriver, pgCursorClass } from "./pg-driver.js";

/** PostgreSQL type OIDs coho accepts for identifier columns (pg_type.oid). */
const OID_KINDS: ReadonlyMap<number, ColumnKind> = new Map([
  [20, "integer"], [21, "integer"], [23, "integer"],
  [25, "text"], [1042, "text"], [1043, "text"], [19, "text"],
  [2950, "uuid"],
]);
const OID_NAMES: Record<number, string> = {
  16: "boolean", 700: "real", 701: "double precision", 1700: "numeric", 1082: "date", 1114: "timestamp", 1184: "timestamptz", 114: "json", 3802: "jsonb",
};

/**
 * A PostgreSQL source. Rows come through a server-side cursor, a batch at a
 * time, so memory stays flat for any result size. The URL (and its password) is
 * revealed only to the driver; messages name host, port and database.
 */
export class PostgresSource implements Source {
  readonly type = "postgres";
  readonly name: string;
  readonly config: PostgresSourceConfig;
  #client: pg.Client | undefined;

  constructor(config: PostgresSourceConfig) {
    this.name = config.name;
    this.config = config;
  }

  async describe(model: ModelConfig): Promise<ColumnInfo[]> {
    const client = await this.#connect();
    const prefix = "SELECT * FROM (\n";
    try {
      const result = await client.query({ text: `${prefix}${modelQuery(model)}\n) AS coho_model LIMIT 0`, rowMode: "array" });
      return result.fields.map((f) => ({
        name: f.name,
        kind: OID_KINDS.get(f.dataTypeID) ?? "other",
        typeName: OID_NAMES[f.dataTypeID] ?? `oid ${f.dataTypeID}`,
      }));
    } catch (error) {
      throw this.#queryError(model, error, prefix.length);
    }
  }

  async *stream(model: ModelConfig, batchSize = DEFAULT_BATCH_SIZE): AsyncIterable<RowBatch> {
    const client = await this.#connect();
    const cursor = client.query(new (pgCursorClass())(modelQuery(model), [], { rowMode: "array" }));
    try {
      for (;;) {
        let page: { rows: unknown[][]; columns: string[] };
        try {
          page = await readPage(cursor, batchSize);
        } catch (error) {
          throw this.#queryError(model, error, 0);
        }
        if (page.rows.length === 0) break;
        yield { columns: page.columns, rows: page.rows };
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** The connection URL, revealed (only for the driver and for comparing databases). */
  revealUrl(): string {
    return typeof this.config.url === "string" ? this.config.url : this.config.url.reveal();
  }

  /** A connection of its own (for work that needs session temp tables), with this source's settings. */
  async openClient(): Promise<pg.Client> {
    const url = this.revealUrl();
    const client = new (pgDriver().Client)({
      connectionString: url,
      ...sslOption(this.config, url),
      statement_timeout: this.config.statementTimeoutMs || undefined,
      connectionTimeoutMillis: 10_000,
      application_name: "coho",
    } as pg.ClientConfig);
    client.on("error", () => undefined);
    try {
      await client.connect();
    } catch (error) {
      throw this.#connectError(url, error);
    }
    return client;
  }

  /** Turns a database error about a model's SQL into a located error. */
  queryError(model: ModelConfig, error: unknown, prefixLength: number): Error {
    return this.#queryError(model, error, prefixLength);
  }

  async #connect(): Promise<pg.Client> {
    this.#client ??= await this.openClient();
    return this.#client;
  }

  #connectError(url: string, error: unknown): CohoError {
    const target = describeTarget(url);
    const reason = redact(error instanceof Error ? error.message : String(error), url);
    const variable = typeof this.config.url === "string" ? undefined : this.config.url.source;
    return new CohoError("source.postgres_unreachable", `source ${this.name}: cannot connect to PostgreSQL at ${target}: ${reason}`, {
      location: this.config.origin,
      hint: variable ? `check the URL in environment variable ${variable}, and that the server is running` : "check sources.*.url and that the server is running",
    });
  }

  #queryError(model: ModelConfig, error: unknown, prefixLength: number): Error {
    if (!(error instanceof Error) || error.name === "CohoError") return error as Error;
    const url = typeof this.config.url === "string" ? this.config.url : this.config.url.reveal();
    const message = redact(error.message, url);
    const position = Number((error as { position?: string }).position);
    if (!Number.isFinite(position) || position <= prefixLength) return modelSqlError(model, message);
    return modelSqlError(model, message, offsetToPosition(modelQuery(model), position - 1 - prefixLength));
  }
}

/** One cursor page, with the result's column names (only the callback form gives them). */
function readPage(cursor: Cursor, size: number): Promise<{ rows: unknown[][]; columns: string[] }> {
  return new Promise((resolve, reject) => {
    cursor.read(size, (error, rows, result) => {
      if (error) reject(error);
      else resolve({ rows: rows as unknown[][], columns: (result?.fields ?? []).map((f) => f.name) });
    });
  });
}

function sslOption(config: PostgresSourceConfig, url: string): { ssl?: pg.ClientConfig["ssl"] } {
  const mode = config.ssl.mode;
  const ca = config.ssl.caFile ? readFileSync(config.ssl.caFile, "utf8") : undefined;
  if (mode === "disable") return { ssl: false };
  if (mode === "require") return { ssl: { rejectUnauthorized: false, ...(ca ? { ca } : {}) } };
  if (mode === "verify-full") return { ssl: { rejectUnauthorized: true, ...(ca ? { ca } : {}) } };
  if (/[?&]sslmode=/.test(url)) return {}; // the URL decides
  return isLoopbackHost(hostOf(url)) ? { ssl: false } : { ssl: { rejectUnauthorized: true, ...(ca ? { ca } : {}) } };
}

/** `host:port/database`, never the user's password. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || "5432"}/${decodeURIComponent(u.pathname.slice(1)) || "(default database)"}`;
  } catch {
    return "(unparseable URL)";
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}

function redact(text: string, url: string): string {
  let result = text.split(url).join("***");
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) result = result.split(password).join("***");
  } catch {
    // nothing more to hide
  }
  return result;
}
