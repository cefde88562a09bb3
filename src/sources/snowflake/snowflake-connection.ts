import type { Connection, RowStatement } from "snowflake-sdk";
import type { SnowflakeSourceConfig } from "../../model/project.js";
import { formatDuration } from "../../model/duration.js";
import { snowflakeDriver } from "./snowflake-driver.js";

/** A column of a result as the driver describes it. */
export interface SnowflakeColumn {
  readonly name: string;
  /** The driver's type name: text, fixed, real, boolean, date, timestamp_ntz, variant, … */
  readonly type: string;
  readonly scale: number | undefined;
  readonly precision: number | undefined;
}

/** One statement: its SQL, positional binds (`:1`, `:2`, …) and the QUERY_TAG it carries. */
export interface SnowflakeStatement {
  readonly sql: string;
  readonly binds?: readonly (string | number | boolean | null)[];
  readonly tag: string;
  /** Compile only (the result's columns, no rows, no warehouse time). */
  readonly describeOnly?: boolean;
}

/**
 * One session of Snowflake through snowflake-sdk. Signs in on first use (key pair:
 * the driver signs a short-lived JWT with the private key, which never leaves this
 * process; or a password). Every answer must come within request_timeout: the
 * driver retries a lost request for up to five minutes, so past the deadline the
 * connection counts as lost and the command ends.
 */
export class SnowflakeConnection {
  readonly #config: SnowflakeSourceConfig;
  #connection: Promise<Connection> | undefined;
  /** Whether Snowflake answered anything yet: a later network failure is a lost connection, not an unreachable account. */
  answered = false;

  constructor(config: SnowflakeSourceConfig) {
    this.#config = config;
  }

  /** The statement's rows, each an array of values in column order, and its columns. */
  async execute(statement: SnowflakeStatement): Promise<{ columns: SnowflakeColumn[]; rows: unknown[][] }> {
    const connection = await this.#connect();
    return this.#deadline(
      new Promise((resolve, reject) => {
        connection.execute({
          ...this.#options(statement),
          complete: (error, stmt, rows) => (error ? reject(error) : resolve({ columns: columnsOf(stmt), rows: (rows ?? []) as unknown[][] })),
        });
      }),
    );
  }

  /** The statement's rows a page at a time (the driver streams result chunks): memory stays flat. */
  async *pages(statement: SnowflakeStatement, pageSize: number, onColumns?: (columns: SnowflakeColumn[]) => void): AsyncIterable<unknown[][]> {
    const connection = await this.#connect();
    const stmt = await this.#deadline(
      new Promise<RowStatement>((resolve, reject) => {
        connection.execute({ ...this.#options(statement), streamResult: true, complete: (error, done) => (error ? reject(error) : resolve(done)) });
      }),
    );
    onColumns?.(columnsOf(stmt));
    const rows = stmt.streamRows()[Symbol.asyncIterator]() as AsyncIterator<unknown[]>;
    let page: unknown[][] = [];
    try {
      for (;;) {
        const next = await this.#deadline(rows.next());
        if (next.done) break;
        page.push(next.value);
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    } finally {
      await rows.return?.().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const pending = this.#connection;
    this.#connection = undefined;
    const connection = await pending?.catch(() => undefined);
    if (!connection) return;
    await this.#deadline(new Promise<void>((resolve) => connection.destroy(() => resolve()))).catch(() => undefined);
  }

  #options(statement: SnowflakeStatement) {
    return {
      sqlText: statement.sql,
      ...(statement.binds && statement.binds.length > 0 ? { binds: [...statement.binds] as never } : {}),
      rowMode: "array" as const,
      // Per statement (a connection-wide queryTag of the driver would replace it).
      parameters: { QUERY_TAG: statement.tag },
      ...(statement.describeOnly ? { describeOnly: true } : {}),
    };
  }

  #connect(): Promise<Connection> {
    this.#connection ??= (async () => {
      const sdk = snowflakeDriver();
      const config = this.#config;
      const auth =
        config.auth.kind === "key_pair"
          ? { authenticator: "SNOWFLAKE_JWT", privateKey: config.auth.privateKey.reveal(), ...(config.auth.passphrase?.resolved ? { privateKeyPass: config.auth.passphrase.reveal() } : {}) }
          : { password: config.auth.password.reveal() };
      const connection = sdk.createConnection({
        account: config.account,
        username: config.user,
        ...auth,
        warehouse: config.warehouse,
        database: config.database,
        schema: config.schema,
        ...(config.role ? { role: config.role } : {}),
        ...(config.accessUrl ? { accessUrl: config.accessUrl } : {}),
        application: "coho",
        timeout: config.requestTimeoutMs,
        clientSessionKeepAlive: false,
        sfRetryMaxLoginRetries: 2,
      } as never);
      await this.#deadline(new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve()))));
      this.answered = true;
      return connection;
    })();
    this.#connection.catch(() => (this.#connection = undefined));
    return this.#connection;
  }

  /** `work`, or a network error once request_timeout passes without an answer. */
  #deadline<T>(work: Promise<T>): Promise<T> {
    const ms = this.#config.requestTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      // Referenced: it keeps the process alive while the driver's retries (whose sleeps do not) go on.
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within request_timeout (${formatDuration(ms)}): the connection was lost`), { code: "ETIMEDOUT" })), ms);
    });
    work.catch(() => undefined);
    return Promise.race([work, expired]).then(
      (value) => {
        clearTimeout(timer);
        this.answered = true;
        return value;
      },
      (error: unknown) => {
        clearTimeout(timer);
        throw error;
      },
    );
  }
}

function columnsOf(stmt: RowStatement | undefined): SnowflakeColumn[] {
  return (stmt?.getColumns() ?? []).map((c) => ({ name: c.getName(), type: String(c.getType()).toLowerCase(), scale: c.getScale() ?? undefined, precision: c.getPrecision() ?? undefined }));
}
