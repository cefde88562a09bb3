import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./fixtures.js";
import { freePort } from "./postgres-cluster.js";

const require = createRequire(import.meta.url);

/** The database every test uses (fakesnow creates it at login); each test makes schemas of its own in it. */
export const TEST_DATABASE = "COHO_TEST";
/** The account name the driver is given (fakesnow checks none; it is only part of names and messages). */
export const TEST_ACCOUNT = "coho-test";

/** The Python of the pinned fakesnow, where .ci/run installs it (see .ci/tools.env). */
export function fakesnowPython(): string {
  const version = /^FAKESNOW_VERSION=(\S+)$/m.exec(readFileSync(join(REPO_ROOT, ".ci", "tools.env"), "utf8"))?.[1];
  const tools = process.env.COHO_TOOLS_DIR ?? join(homedir(), ".cache", "coho-tools");
  return join(tools, `fakesnow-${version}`, "bin", "python");
}

export const LAUNCHER = join(REPO_ROOT, "test", "helpers", "fakesnow-server.py");

/** One statement the stand-in received: its text and QUERY_TAG (or a login: its user and authenticator). */
export interface SeenStatement {
  readonly sql?: string;
  readonly query_tag?: string | null;
  readonly login?: string;
  readonly authenticator?: string | null;
  /** The JWT a key-pair login carries. */
  readonly token?: string | null;
  readonly client?: string;
}

export interface RunningFakesnow {
  /** For `access_url`: http://127.0.0.1:<port>. */
  readonly url: string;
  readonly process: ChildProcess;
  /** Every statement received so far, in order. */
  statements(): SeenStatement[];
  /** Runs Snowflake SQL in `schema` of the test database (a connection of its own) and returns rows as arrays. */
  sql(schema: string, text: string, binds?: readonly unknown[]): Promise<unknown[][]>;
  stop(): Promise<void>;
}

/**
 * Starts the Snowflake stand-in (fakesnow's server under test/helpers/fakesnow-server.py)
 * on a free port of 127.0.0.1 and waits until it answers. `rejectUsers`: logins it
 * refuses as Snowflake does; `denyTables`: tables it answers with Snowflake's
 * access-control error.
 */
export async function startFakesnow(options: { rejectUsers?: readonly string[]; denyTables?: readonly string[] } = {}): Promise<RunningFakesnow> {
  const python = fakesnowPython();
  if (!existsSync(python)) throw new Error(`fakesnow is not installed at ${python}: run bash .ci/run (it installs the pinned version)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "coho-fakesnow-"));
  const log = join(dir, "statements.jsonl");
  const args = [LAUNCHER, "--port", String(port), "--log", log, ...(options.rejectUsers ?? []).flatMap((u) => ["--reject-user", u]), ...(options.denyTables ?? []).flatMap((t) => ["--deny-table", t])];
  const child = spawn(python, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fakesnow exited with ${child.exitCode}: ${stderr}`);
    // Any answer (401: no session) means the server is up.
    const up = await fetch(`${url}/session`, { method: "POST" }).then(() => true, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`fakesnow did not answer within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const connections = new Map<string, Promise<import("snowflake-sdk").Connection>>();
  const connect = (schema: string) => {
    let pending = connections.get(schema);
    if (!pending) {
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
      const sdk = require("snowflake-sdk") as typeof import("snowflake-sdk");
      sdk.configure({ logLevel: "OFF" } as never);
      const connection = sdk.createConnection({ account: TEST_ACCOUNT, username: "harness", password: "harness", accessUrl: url, database: TEST_DATABASE, schema, warehouse: "TEST_WH" } as never);
      pending = new Promise((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve(connection))));
      connections.set(schema, pending);
    }
    return pending;
  };
  return {
    url,
    process: child,
    statements: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as SeenStatement) : []),
    sql: async (schema, text, binds) => {
      const connection = await connect(schema);
      return new Promise((resolve, reject) => connection.execute({ sqlText: text, ...(binds ? { binds } : {}), rowMode: "array", complete: (error: unknown, _s: unknown, rows: unknown[] | undefined) => (error ? reject(error) : resolve((rows ?? []) as unknown[][])) } as never));
    },
    stop: async () => {
      for (const pending of connections.values()) await pending.then((c) => new Promise<void>((resolve) => c.destroy(() => resolve())), () => undefined);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new schema name for one test (created by the source's first login, or by `sql`). */
export function newSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`.toUpperCase();
}

/** Replaces table `name` of `schema` with one VARCHAR column `user_id` holding `ids` (one bind, split inside). */
export async function replaceSnowflakeMembers(fs: RunningFakesnow, schema: string, name: string, ids: readonly string[]): Promise<void> {
  await fs.sql(schema, `CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await fs.sql(schema, `CREATE OR REPLACE TABLE ${schema}.${name} (user_id VARCHAR)`);
  if (ids.length > 0) await fs.sql(schema, `INSERT INTO ${schema}.${name} (user_id) SELECT f.value::VARCHAR FROM TABLE(FLATTEN(INPUT => SPLIT(:1, '\\n'))) AS f`, [ids.join("\n")]);
}

/** The `sources:` entry of a Snowflake source on the stand-in, reading `schema`; the password comes from SNOWFLAKE_PASSWORD unless `auth` says otherwise. */
export function snowflakeSourceYaml(url: string, schema: string, extra = "", auth = '    password: "${env:SNOWFLAKE_PASSWORD}"\n'): string {
  return `sources:
  wh:
    type: snowflake
    account: ${TEST_ACCOUNT}
    user: COHO
${auth}    warehouse: COHO_WH
    role: COHO_ROLE
    database: ${TEST_DATABASE}
    schema: ${schema}
    access_url: ${url}
${extra}`;
}

/** The environment a Snowflake project's commands need (the stand-in takes any password). */
export const SNOWFLAKE_ENV = { SNOWFLAKE_PASSWORD: "stand-in-password-1234" };
