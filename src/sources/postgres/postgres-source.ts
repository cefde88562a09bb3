import { readFileSync } from "node:fs";
import type pg from "pg";
import type Cursor from "pg-cursor";
import { isLoopbackHost } from "../../model/braze-instances.js";
import { CohoError } from "../../model/errors.js";
import { formatDuration } from "../../model/duration.js";
import { checkPostgresUrl, describeTarget } from "../../model/postgres-url.js";
import type { SourceLocation } from "../../model/diagnostic.js";
import type { ModelConfig, PostgresSourceConfig, PostgresSslMode, RedshiftSourceConfig } from "../../model/project.js";
import { modelSqlError, offsetToPosition } from "../source-error.js";
import { DEFAULT_BATCH_SIZE, modelQuery, type ColumnInfo, type ColumnKind, type RowBatch, type Source } from "../source.js";
import { pgDriver, pgCursorClass } from "./pg-driver.js";
import type { Dialect, PushDownTarget, SnapshotHome, SnapshotStore, WarehouseSession } from "../dialect.js";
import { PgWireSnapshotStore } from "./snapshot-store.js";
import { POSTGRES_DIALECT } from "./dialect.js";
import { pgSession } from "./pg-session.js";
import { ConnectionLostError, unlessLost, watchConnection } from "./connection-watch.js";
import { redactKnown } from "../../model/redaction.js";

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
  readonly type: "postgres" | "redshift";
  readonly name: string;
  readonly config: PostgresSourceConfig | RedshiftSourceConfig;
  #client: pg.Client | undefined;

  constructor(config: PostgresSourceConfig | RedshiftSourceConfig) {
    this.type = config.type;
    this.name = config.name;
    this.config = config;
  }

  /** The server's name in messages. */
  get engineName(): string {
    return "PostgreSQL";
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
    const read = () => {
      const page = readPage(client, cursor, batchSize).catch((error: unknown) => {
        throw this.#queryError(model, error, 0);
      });
      page.catch(() => undefined); // awaited below; unobserved only when the consumer stopped first
      return page;
    };
    // One page read ahead, never more: the server produces page k+1 while the
    // consumer (DuckDB's appender) takes page k, so neither waits on the other and
    // at most two pages are held. The next read is asked for only once a page has
    // arrived: pg-cursor runs a read queued while another is busy only at the start.
    let next = read();
    try {
      for (;;) {
        const page = await next;
        if (page.rows.length === 0) break;
        next = read();
        yield { columns: page.columns, rows: page.rows };
      }
    } finally {
      // On a dead connection close() never calls back: do not wait for it then.
      await unlessLost(client, cursor.close()).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  /**
   * Push-down into this database, when it is where the snapshots live: the
   * PostgreSQL state database (same host, port and database), or this source itself.
   */
  pushDownTarget(home: SnapshotHome): PushDownTarget | undefined {
    const here = home.location.kind === "url" ? sameDatabase(this.revealUrl(), home.location.url) : home.location.source === this.name;
    if (!here) return undefined;
    return {
      dialect: this.dialect,
      open: async () => pgSession(await this.openClient()),
      queryError: (model, error, prefixLength) => this.queryError(model, error, prefixLength),
    };
  }

  /** The SQL dialect push-down speaks here. */
  get dialect(): Dialect {
    return POSTGRES_DIALECT;
  }

  /** Snapshots in `schema` of this database (state.snapshots). */
  snapshotStore(schema: string): SnapshotStore {
    return new PgWireSnapshotStore({
      source: this.name,
      dialect: this.dialect,
      open: async () => pgSession(await this.openClient()),
      ddl: (session, schemaName) => this.snapshotDdl(session, schemaName),
      failure: (error, doing) => this.storeError(error, doing),
    }, schema);
  }

  /** An error of the snapshot store as a CohoError naming this source (a grant, a lost connection); never a password. */
  storeError(error: unknown, doing: string): Error {
    if (!(error instanceof Error) || error.name === "CohoError") return error as Error;
    const denied = this.permissionError(error, doing, this.config.origin);
    if (denied) return denied;
    const url = this.revealUrl();
    const lost = classifyPgFailure(error) === "connection_lost";
    return new CohoError(lost ? "source.connection_lost" : "state.snapshot_store_failed", `source ${this.name}: ${this.engineName} at ${describeTarget(url)} failed while coho ${doing}: ${redact(error.message, url)}`, {
      location: this.config.origin,
      hint: lost ? "the connection went away; nothing was recorded — run the command again once the database is back" : "nothing was recorded; fix the cause and run the command again",
    });
  }

  /** The DDL of coho's snapshot tables here. */
  async snapshotDdl(_session: WarehouseSession, schema: string): Promise<readonly string[]> {
    return this.dialect.snapshotTablesDdl(schema);
  }

  /** The connection URL, revealed (only for the driver and for comparing databases). */
  revealUrl(): string {
    return typeof this.config.url === "string" ? this.config.url : this.config.url.reveal();
  }

  /** A connection of its own (for work that needs session temp tables), with this source's settings. */
  async openClient(): Promise<pg.Client> {
    const url = this.revealUrl();
    const checked = checkPostgresUrl(url);
    if (!checked.ok) throw this.#connectError(url, new Error(`the URL ${checked.problem}`));
    // sslmode is taken out of the URL and applied here, so the driver never lets the
    // URL silently override ssl.mode (config validation refuses a contradiction).
    const client = new (pgDriver().Client)({
      connectionString: checked.stripped,
      ...sslOption(this.config.ssl.mode ?? checked.sslMode, this.config.ssl.caFile, url),
      statement_timeout: this.config.statementTimeoutMs || undefined,
      connectionTimeoutMillis: 10_000,
      application_name: "coho",
    } as pg.ClientConfig);
    // A connection lost while no query runs surfaces on the next read (see readPage); never crash on the event.
    client.on("error", () => undefined);
    watchConnection(client);
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

  /**
   * A refusal for want of a privilege (SQLSTATE 42501) as a located error naming the
   * grant that would allow it; undefined for any other error. `doing`: what ran.
   */
  permissionError(error: unknown, doing: string, location: SourceLocation): CohoError | undefined {
    if ((error as { code?: string } | null)?.code !== "42501" || !(error instanceof Error)) return undefined;
    const url = this.revealUrl();
    const user = userOf(url);
    const object = /permission denied for (table|relation|schema|database|sequence|view|function) "?([^"\s]+)"?/i.exec(error.message);
    const grant = !object
      ? `ask the database owner for the privilege ${doing} needs`
      : /schema/i.test(object[1]!)
        ? `GRANT USAGE, CREATE ON SCHEMA ${object[2]} TO ${user}`
        : /database/i.test(object[1]!)
          ? `GRANT CREATE ON DATABASE ${object[2]} TO ${user}`
          : `GRANT SELECT ON ${object[2]} TO ${user}`;
    return new CohoError("source.permission_denied", `source ${this.name}: ${this.engineName} at ${describeTarget(url)} refused ${doing}: ${redact(error.message, url)}`, {
      location,
      hint: `${grant}; nothing was written (docs/warehouses.md lists the grants coho needs)`,
    });
  }

  async #connect(): Promise<pg.Client> {
    this.#client ??= await this.openClient();
    return this.#client;
  }

  #connectError(url: string, error: unknown): CohoError {
    const target = describeTarget(url);
    const reason = redact(error instanceof Error ? error.message : String(error), url);
    const variable = typeof this.config.url === "string" ? undefined : this.config.url.source;
    return new CohoError(`source.${this.type}_unreachable`, `source ${this.name}: cannot connect to ${this.engineName} at ${target}: ${reason}`, {
      location: this.config.origin,
      hint: variable ? `check the URL in environment variable ${variable}, and that the server is running` : "check sources.*.url and that the server is running",
    });
  }

  #queryError(model: ModelConfig, error: unknown, prefixLength: number): Error {
    if (!(error instanceof Error) || error.name === "CohoError") return error as Error;
    const url = typeof this.config.url === "string" ? this.config.url : this.config.url.reveal();
    const message = redact(error.message, url);
    const failure = classifyPgFailure(error);
    const denied = this.permissionError(error, `models.${model.name}`, model.sqlOrigin);
    if (denied) return denied;
    if (failure === "connection_lost") {
      return new CohoError("source.connection_lost", `source ${this.name}: the connection to ${this.engineName} at ${describeTarget(url)} was lost while models.${model.name} ran: ${message}`, {
        location: model.sqlOrigin,
        hint: "the server restarted, dropped the connection or went away; the plan changed nothing — run it again once the database is back",
      });
    }
    if (failure === "timeout") {
      return new CohoError("source.statement_timeout", `source ${this.name}: models.${model.name} ran longer than statement_timeout (${formatDuration(this.config.statementTimeoutMs)}) and ${this.engineName} cancelled it`, {
        location: model.sqlOrigin,
        hint: `raise sources.${this.name}.statement_timeout, or make the query cheaper (an index, fewer rows)`,
      });
    }
    if (failure === "cancelled") {
      return new CohoError("source.query_cancelled", `source ${this.name}: ${this.engineName} cancelled models.${model.name}: ${message}`, {
        location: model.sqlOrigin,
        hint: "someone cancelled the query or the server is shutting down; run the plan again",
      });
    }
    const position = Number((error as { position?: string }).position);
    if (!Number.isFinite(position) || position <= prefixLength) return modelSqlError(model, message);
    return modelSqlError(model, message, offsetToPosition(modelQuery(model), position - 1 - prefixLength));
  }
}

/**
 * One cursor page, with the result's column names (only the callback form gives
 * them). pg-cursor may never call back when the connection dies mid-read, which
 * left the process with nothing pending (exit 13, no output): the connection's
 * own end/error events reject the page instead.
 */
function readPage(client: pg.Client, cursor: Cursor, size: number): Promise<{ rows: unknown[][]; columns: string[] }> {
  const page = new Promise<{ rows: unknown[][]; columns: string[] }>((resolve, reject) => {
    cursor.read(size, (error, rows, result) => {
      if (error) reject(error);
      else resolve({ rows: rows as unknown[][], columns: (result?.fields ?? []).map((f) => f.name) });
    });
  });
  return unlessLost(client, page);
}

/** Which kind of failure a driver error is: each gets its own message and hint. */
export function classifyPgFailure(error: Error): "connection_lost" | "timeout" | "cancelled" | "sql" {
  const code = (error as { code?: string }).code ?? "";
  if (code === "57014") return /statement timeout/i.test(error.message) ? "timeout" : "cancelled";
  // Class 08 (connection exception), 57P01–57P03 (admin shutdown, crash, cannot connect now).
  if (code.startsWith("08") || /^57P0[1-3]$/.test(code)) return "connection_lost";
  if (error instanceof ConnectionLostError || ["ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT"].includes(code)) return "connection_lost";
  if (/Connection terminated|connection .*closed|Client has encountered a connection error/i.test(error.message)) return "connection_lost";
  return "sql";
}

function sslOption(mode: PostgresSslMode | undefined, caFile: string | undefined, url: string): { ssl?: pg.ClientConfig["ssl"] } {
  const ca = caFile ? readFileSync(caFile, "utf8") : undefined;
  if (mode === "disable") return { ssl: false };
  if (mode === "require") return { ssl: { rejectUnauthorized: false, ...(ca ? { ca } : {}) } };
  if (mode === "verify-full") return { ssl: { rejectUnauthorized: true, ...(ca ? { ca } : {}) } };
  return isLoopbackHost(hostOf(url)) ? { ssl: false } : { ssl: { rejectUnauthorized: true, ...(ca ? { ca } : {}) } };
}

/** Same server and database: host (localhost is 127.0.0.1), port and database name. */
export function sameDatabase(a: string, b: string): boolean {
  const parts = (url: string) => {
    try {
      const u = new URL(url);
      const host = u.hostname === "localhost" ? "127.0.0.1" : u.hostname;
      return `${host}:${u.port || "5432"}/${decodeURIComponent(u.pathname.slice(1))}`;
    } catch {
      return `unparseable:${url.length}`;
    }
  };
  return parts(a) === parts(b);
}

/** The user name in a connection URL (not a secret), for GRANT hints. */
function userOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || "<coho's user>";
  } catch {
    return "<coho's user>";
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}

/** A driver's message without the URL, its password, or any other secret or environment value coho knows (redactKnown). */
function redact(text: string, url: string): string {
  let result = redactKnown(text.split(url).join("***"));
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) result = result.split(password).join("***");
  } catch {
    // nothing more to hide
  }
  return result;
}
