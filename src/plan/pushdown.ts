import type pg from "pg";
import { CohoError } from "../model/errors.js";
import type { IdentifierConfig, ModelConfig } from "../model/project.js";
import { noRejections, type RejectReason } from "../model/reject-reason.js";
import type { CohortState } from "../model/state.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { MAX_IDENTIFIER_LENGTH, keyPrefix, onlyWhiteSpaceSql, otherWhiteSpaceClass } from "../sources/identifier-sql.js";
import { PostgresSource } from "../sources/postgres-source.js";
import type { Source } from "../sources/source.js";
import { modelQuery } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import { formatDigest } from "../state/member-digest.js";
import type { MembershipDelta } from "./membership-diff.js";
import { pgCursorClass } from "../sources/pg-driver.js";

/** A backend that can tell where its snapshots live in PostgreSQL. */
interface PushDownBackend extends StateBackend {
  pushDownTarget(): Promise<{ url: string; snapshots: string }>;
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

  const client = await source.openClient();
  try {
    // Hash aggregation and the hash join below stay in memory at millions of keys
    // instead of sorting on disk (PostgreSQL's default is 4MB per operation).
    await client.query(`SET work_mem = '${PUSHDOWN_WORK_MEM}'`);
    const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
    const select = `SELECT ${pk ? `${q(pk.name)}::text` : "NULL::text"} AS pk, ${q(value.name)}::text AS v FROM (\n`;
    // Without a primary key the model's rows are checked and grouped in one pass;
    // with one, they are kept once for the uniqueness check first.
    const grouped = groupedSql();
    const prefix = pk ? `CREATE TEMP TABLE coho_rows AS\n${select}` : `CREATE TEMP TABLE coho_desired AS\n${grouped.head}${select}`;
    try {
      await client.query(`${prefix}${modelQuery(model)}\n) AS coho_model${pk ? "" : grouped.tail}`, pk ? [] : [keyPrefix(identifier)]);
    } catch (error) {
      throw source.queryError(model, error, prefix.length);
    }
    if (pk) {
      await checkPrimaryKey(client, model);
      await client.query(`CREATE TEMP TABLE coho_desired AS\n${grouped.head}SELECT pk, v FROM coho_rows${grouped.tail}`, [keyPrefix(identifier)]);
    }
    const rejected = noRejections();
    let rows = 0;
    let members = 0;
    for (const r of (await client.query<{ reason: RejectReason | null; n: string; groups: string }>("SELECT reason, sum(n)::text AS n, count(*)::text AS groups FROM coho_desired GROUP BY reason")).rows) {
      rows += Number(r.n);
      if (r.reason === null) {
        members = Number(r.groups);
        rejected.duplicate = Number(r.n) - members;
      } else rejected[r.reason] = Number(r.n);
    }

    const snapshot = prior && prior.members.count > 0 ? prior.snapshot : undefined;
    if (snapshot) await verifyDigest(client, target.snapshots, snapshot, prior!);
    const snapshotRelation = snapshot ? `SELECT key FROM ${target.snapshots} WHERE snapshot = $1` : "SELECT NULL::text AS key WHERE false";
    // Both differences from one hash full join; only the changed keys leave the database.
    const changes = `SELECT coalesce(d.key, s.key) AS key, d.key IS NULL AS removed
      FROM (SELECT key FROM coho_desired WHERE key IS NOT NULL) AS d FULL JOIN (${snapshotRelation}) AS s ON d.key = s.key
      WHERE d.key IS NULL OR s.key IS NULL`;
    const delta = await pullChanges(engine, client, changes, snapshot ? [snapshot] : []);
    return { rows, members, rejected, delta };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Session work_mem for push-down queries (see README, "Performance"). */
export const PUSHDOWN_WORK_MEM = "256MB";

/**
 * identifier-sql.ts's rules in PostgreSQL's dialect (text holds no NUL), grouped by
 * key and reason: one group per valid key (`n` rows each) and one per rejection
 * reason (key NULL). Valid values take one exact test first, as in DuckDB; only the
 * others go through the per-reason tests. The rows to check go between head and tail.
 */
function groupedSql(): { head: string; tail: string } {
  const head = `SELECT key, reason, count(*) AS n FROM (
SELECT CASE WHEN reason IS NULL THEN $1 || v END AS key, reason FROM (
  SELECT v, CASE
    WHEN v IS NULL THEN 'null'
    WHEN octet_length(v) <= ${MAX_IDENTIFIER_LENGTH} AND v ~ '^[^\\x01-\\x1f\\x7f]*[^\\x01-\\x20\\x7f${otherWhiteSpaceClass("postgres")}][^\\x01-\\x1f\\x7f]*$' THEN NULL
    WHEN ${onlyWhiteSpaceSql("v", "btrim")} THEN 'empty'
    WHEN v ~ '[\\x01-\\x1f\\x7f]' THEN 'control_characters'
    WHEN char_length(v) > ${MAX_IDENTIFIER_LENGTH} THEN 'too_long'
  END AS reason
  FROM (`;
  return { head, tail: "\n) AS coho_values) AS coho_checked) AS coho_candidates GROUP BY key, reason" };
}

async function checkPrimaryKey(client: pg.Client, model: ModelConfig): Promise<void> {
  const dup = await client.query<{ pk: string | null; n: string }>("SELECT pk, count(*) AS n FROM coho_rows GROUP BY pk HAVING count(*) > 1 ORDER BY count(*) DESC, pk LIMIT 1");
  const row = dup.rows[0];
  if (!row) return;
  throw new CohoError("source.primary_key_not_unique", `model ${model.name}: primary_key \`${model.primaryKey}\` is not unique: ${row.pk === null ? "NULL" : JSON.stringify(row.pk)} appears ${Number(row.n)} times`, {
    location: model.origin,
    hint: "deduplicate in the SQL (e.g. SELECT DISTINCT or GROUP BY), or choose another primary_key",
  });
}

/**
 * The recorded snapshot is checked by the same digest, computed where it lives.
 * Each 64-bit half is summed as two unsigned 32-bit chunks (bigint sums: no
 * overflow below 2^63 / 2^32 members), then recombined modulo 2^64 here.
 */
async function verifyDigest(client: pg.Client, snapshots: string, snapshot: string, prior: CohortState): Promise<void> {
  const chunks = Array.from({ length: 4 }, (_, i) => `sum(('x' || substr(h, ${1 + i * 8}, 8))::bit(32)::bigint)::text AS c${i}`).join(", ");
  const row = (await client.query<Record<string, string | null>>(`SELECT count(*)::text AS n, ${chunks} FROM (SELECT md5(key) AS h FROM ${snapshots} WHERE snapshot = $1) AS d`, [snapshot])).rows[0]!;
  const half = (first: number) => ((BigInt(row[`c${first}`] ?? "0") << 32n) + BigInt(row[`c${first + 1}`] ?? "0")) % 2n ** 64n;
  const digest = formatDigest(Number(row.n), half(0), half(2));
  if (digest !== prior.members.digest) {
    throw new CohoError("state.snapshot_mismatch", `a snapshot in the state database does not match its state: expected ${prior.members.count} members (digest ${prior.members.digest}), found ${row.n} (digest ${digest})`);
  }
}

/** Streams the changed keys into two new engine tables, additions and removals. */
async function pullChanges(engine: DuckDbEngine, client: pg.Client, sql: string, params: string[]): Promise<MembershipDelta> {
  const changes = engine.tempTable("pushed_changes");
  await engine.connection.run(`CREATE TABLE memory.main.${changes} (key VARCHAR, removed BOOLEAN)`);
  const appender = await engine.connection.createAppender(changes, "main", "memory");
  const cursor = client.query(new (pgCursorClass())(sql, params, { rowMode: "array" }));
  try {
    for (;;) {
      const rows = (await cursor.read(10_000)) as [string, boolean][];
      if (rows.length === 0) break;
      for (const [key, removed] of rows) {
        appender.appendVarchar(key);
        appender.appendBoolean(removed);
        appender.endRow();
      }
    }
  } finally {
    await cursor.close().catch(() => undefined);
    appender.closeSync();
  }
  const addTable = `memory.main.${engine.tempTable("pushed_add")}`;
  const removeTable = `memory.main.${engine.tempTable("pushed_remove")}`;
  await engine.connection.run(`CREATE TABLE ${addTable} AS SELECT key FROM memory.main.${changes} WHERE NOT removed`);
  await engine.connection.run(`CREATE TABLE ${removeTable} AS SELECT key FROM memory.main.${changes} WHERE removed`);
  const counts = (await engine.connection.runAndReadAll(`SELECT count(*) FILTER (WHERE NOT removed), count(*) FILTER (WHERE removed) FROM memory.main.${changes}`)).getRows()[0] ?? [0n, 0n];
  await engine.drop(`memory.main.${changes}`);
  return { addTable, removeTable, add: Number(counts[0]), remove: Number(counts[1]) };
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
