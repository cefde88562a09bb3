import type pg from "pg";
import { CohoError } from "../model/errors.js";
import type { IdentifierConfig, ModelConfig } from "../model/project.js";
import { noRejections, type RejectReason } from "../model/reject-reason.js";
import type { CohortState } from "../model/state.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { keyPrefix } from "../sources/identifier-sql.js";
import { PostgresSource } from "../sources/postgres-source.js";
import type { Source } from "../sources/source.js";
import { modelQuery } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import { verifySnapshot, type SnapshotTables } from "../state/postgres-snapshot-check.js";
import type { MembershipDelta } from "./membership-diff.js";
import { diffSql, type DiffRow } from "./pushdown-sql.js";
import { pgCursorClass } from "../sources/pg-driver.js";

/** A backend that can tell where its snapshots live in PostgreSQL. */
interface PushDownBackend extends StateBackend {
  pushDownTarget(): Promise<{ url: string } & SnapshotTables>;
}

export interface PushedDown {
  readonly rows: number;
  readonly members: number;
  readonly rejected: Record<RejectReason, number>;
  readonly delta: MembershipDelta;
}

/**
 * The membership diff inside PostgreSQL, when a model's source is the very
 * database that holds the state: the model runs, identifiers are checked by the
 * same rules as identifier-sql.ts (in PostgreSQL's dialect) and both set
 * differences are computed there; only added and removed keys leave the database.
 * Returns undefined when push-down does not apply.
 */
export async function tryPushDown(
  engine: DuckDbEngine,
  backend: StateBackend,
  source: Source,
  model: ModelConfig,
  identifier: IdentifierConfig,
  prior: CohortState | undefined,
): Promise<PushedDown | undefined> {
  if (!(source instanceof PostgresSource) || !("pushDownTarget" in backend)) return undefined;
  const target = await (backend as PushDownBackend).pushDownTarget();
  if (!sameDatabase(source.revealUrl(), target.url)) return undefined;

  const columns = await source.describe(model);
  const find = (name: string) => columns.find((c) => c.name === name) ?? columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
  const value = find(identifier.column);
  const pk = model.primaryKey === undefined ? undefined : find(model.primaryKey);
  // Column problems get the embedded path's located messages.
  if (!value || value.kind === "other" || (model.primaryKey !== undefined && (!pk || pk.kind === "other"))) return undefined;

  const snapshot = prior && prior.members.count > 0 ? prior.snapshot : undefined;
  // The recorded snapshot is verified on a connection of its own, while the diff runs:
  // the server computes both at once (a diff over a snapshot that fails it is discarded).
  const verified = snapshot ? verifyRecorded(source, target, snapshot, prior!) : Promise.resolve();
  verified.catch(() => undefined); // awaited below, on every path
  const client = await source.openClient().catch(async (error: unknown) => {
    await verified.catch(() => undefined);
    throw error;
  });
  try {
    // The sort below stays in memory at a million keys instead of an external merge
    // on disk (PostgreSQL's default is 4MB per operation). The diff is read through a
    // cursor, which PostgreSQL never runs in parallel: plan it serial too.
    await client.query(`SET work_mem = '${PUSHDOWN_WORK_MEM}'`);
    const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
    const select = `SELECT ${pk ? `${q(pk.name)}::text` : "NULL::text"} AS pk, ${q(value.name)}::text AS v FROM (\n`;
    const modelRows = `${select}${modelQuery(model)}\n) AS coho_model`;
    if (pk) {
      // With a primary key the model's rows are kept once, for the uniqueness check first.
      const create = `CREATE TEMP TABLE coho_rows AS\n`;
      try {
        await client.query(`${create}${modelRows}`);
      } catch (error) {
        throw source.queryError(model, error, create.length + select.length);
      }
      await checkPrimaryKey(client, model);
    }
    await client.query("SET max_parallel_workers_per_gather = 0");
    const sql = diffSql(pk ? "SELECT v FROM coho_rows" : modelRows, snapshot ? target.snapshots : undefined);
    const params = snapshot ? [keyPrefix(identifier), snapshot] : [keyPrefix(identifier)];
    let pulled: Awaited<ReturnType<typeof pullChanges>>;
    try {
      pulled = await pullChanges(engine, client, sql, params);
    } catch (error) {
      throw pk ? error : source.queryError(model, error, sql.indexOf(modelRows) + select.length);
    }
    await verified;
    return { rows: pulled.rows, members: pulled.members, rejected: pulled.rejected, delta: pulled.delta };
  } finally {
    await verified.catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** Session work_mem for push-down queries (see docs/performance.md). */
export const PUSHDOWN_WORK_MEM = "256MB";

async function checkPrimaryKey(client: pg.Client, model: ModelConfig): Promise<void> {
  const dup = await client.query<{ pk: string | null; n: string }>("SELECT pk, count(*) AS n FROM coho_rows GROUP BY pk HAVING count(*) > 1 ORDER BY count(*) DESC, pk LIMIT 1");
  const row = dup.rows[0];
  if (!row) return;
  throw new CohoError("source.primary_key_not_unique", `model ${model.name}: primary_key \`${model.primaryKey}\` is not unique: ${row.pk === null ? "NULL" : JSON.stringify(row.pk)} appears ${Number(row.n)} times`, {
    location: model.origin,
    hint: "deduplicate in the SQL (e.g. SELECT DISTINCT or GROUP BY), or choose another primary_key",
  });
}

/** The recorded snapshot, verified where it lives (postgres-snapshot-check.ts), on a connection of its own. */
async function verifyRecorded(source: PostgresSource, tables: SnapshotTables, snapshot: string, prior: CohortState): Promise<void> {
  const client = await source.openClient();
  try {
    await verifySnapshot(client, tables, snapshot, prior.members);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Streams the diff's rows (pushdown-sql.ts): changed keys into two new engine tables,
 * additions and removals; rejection counts and the valid rows' summary into numbers.
 */
async function pullChanges(engine: DuckDbEngine, client: pg.Client, sql: string, params: string[]) {
  const changes = engine.tempTable("pushed_changes");
  await engine.connection.run(`CREATE TABLE memory.main.${changes} (key VARCHAR, removed BOOLEAN)`);
  const appender = await engine.connection.createAppender(changes, "main", "memory");
  const cursor = client.query(new (pgCursorClass())(sql, params, { rowMode: "array" }));
  const rejected = noRejections();
  const counts = { add: 0, remove: 0, validRows: 0, members: 0 };
  try {
    for (;;) {
      const rows = (await cursor.read(10_000)) as DiffRow[];
      if (rows.length === 0) break;
      for (const [kind, key, n, groups] of rows) {
        if (kind === "add" || kind === "remove") {
          appender.appendVarchar(key!);
          appender.appendBoolean(kind === "remove");
          appender.endRow();
          counts[kind]++;
        } else if (kind === "rejected") rejected[key as RejectReason] = Number(n);
        else {
          counts.validRows = Number(n);
          counts.members = Number(groups);
        }
      }
    }
  } finally {
    await cursor.close().catch(() => undefined);
    appender.closeSync();
  }
  // Every row is either valid (a member, or a duplicate of one) or rejected for one reason.
  const rows = counts.validRows + Object.values(rejected).reduce((a, b) => a + b, 0);
  rejected.duplicate = counts.validRows - counts.members;
  const addTable = `memory.main.${engine.tempTable("pushed_add")}`;
  const removeTable = `memory.main.${engine.tempTable("pushed_remove")}`;
  await engine.connection.run(`CREATE TABLE ${addTable} AS SELECT key FROM memory.main.${changes} WHERE NOT removed`);
  await engine.connection.run(`CREATE TABLE ${removeTable} AS SELECT key FROM memory.main.${changes} WHERE removed`);
  await engine.drop(`memory.main.${changes}`);
  const delta: MembershipDelta = { addTable, removeTable, add: counts.add, remove: counts.remove };
  return { rows, members: counts.members, rejected, delta };
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
