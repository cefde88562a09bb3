import type pg from "pg";
import Cursor from "pg-cursor";
import { CohoError } from "../model/errors.js";
import type { IdentifierConfig, ModelConfig } from "../model/project.js";
import { noRejections, type RejectReason } from "../model/reject-reason.js";
import type { CohortState } from "../model/state.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { MAX_IDENTIFIER_LENGTH, keyPrefix, onlyWhiteSpaceSql } from "../sources/identifier-sql.js";
import { PostgresSource } from "../sources/postgres-source.js";
import type { Source } from "../sources/source.js";
import { modelQuery } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import { formatDigest } from "../state/member-digest.js";
import type { MembershipDelta } from "./membership-diff.js";

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
    const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
    const prefix = "CREATE TEMP TABLE coho_candidates AS\nSELECT pk, CASE WHEN reason IS NULL THEN $1 || v END AS key, reason FROM (\n  SELECT pk, v, CASE\n    WHEN v IS NULL THEN 'null'\n" + `    WHEN ${onlyWhiteSpaceSql("v", "btrim")} THEN 'empty'\n` + "    WHEN v ~ '[\\x01-\\x1f\\x7f]' THEN 'control_characters'\n    WHEN char_length(v) > " + MAX_IDENTIFIER_LENGTH + " THEN 'too_long'\n  END AS reason\n  FROM (SELECT " + (pk ? `${q(pk.name)}::text` : "NULL::text") + ` AS pk, ${q(value.name)}::text AS v FROM (\n`;
    try {
      await client.query(`${prefix}${modelQuery(model)}\n) AS coho_model) AS coho_values) AS coho_checked`, [keyPrefix(identifier)]);
    } catch (error) {
      throw source.queryError(model, error, prefix.length);
    }
    if (pk) {
      const dup = await client.query<{ pk: string | null; n: string }>("SELECT pk, count(*) AS n FROM coho_candidates GROUP BY pk HAVING count(*) > 1 ORDER BY count(*) DESC, pk LIMIT 1");
      const row = dup.rows[0];
      if (row) {
        throw new CohoError("source.primary_key_not_unique", `model ${model.name}: primary_key \`${model.primaryKey}\` is not unique: ${row.pk === null ? "NULL" : JSON.stringify(row.pk)} appears ${Number(row.n)} times`, {
          location: model.origin,
          hint: "deduplicate in the SQL (e.g. SELECT DISTINCT or GROUP BY), or choose another primary_key",
        });
      }
    }
    await client.query("CREATE TEMP TABLE coho_desired AS SELECT DISTINCT key FROM coho_candidates WHERE key IS NOT NULL");
    const counts = (await client.query<{ rows: string; valid: string; members: string }>("SELECT count(*) AS rows, count(key) AS valid, (SELECT count(*) FROM coho_desired) AS members FROM coho_candidates")).rows[0]!;
    const rejected = noRejections();
    for (const r of (await client.query<{ reason: RejectReason; n: string }>("SELECT reason, count(*) AS n FROM coho_candidates WHERE reason IS NOT NULL GROUP BY reason")).rows) rejected[r.reason] = Number(r.n);
    rejected.duplicate = Number(counts.valid) - Number(counts.members);

    const snapshot = prior && prior.members.count > 0 ? prior.snapshot : undefined;
    if (snapshot) await verifyDigest(client, target.snapshots, snapshot, prior!);
    const snapshotRelation = snapshot ? `SELECT key FROM ${target.snapshots} WHERE snapshot = $1` : "SELECT NULL::text AS key WHERE false";
    const params = snapshot ? [snapshot] : [];
    const addTable = await pull(engine, client, `SELECT key FROM coho_desired EXCEPT ${snapshotRelation}`, params, "add");
    const removeTable = await pull(engine, client, `${snapshotRelation} EXCEPT SELECT key FROM coho_desired`, params, "remove");
    return { rows: Number(counts.rows), members: Number(counts.members), rejected, delta: { ...addTable.delta, ...removeTable.delta, add: addTable.count, remove: removeTable.count } as MembershipDelta };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The recorded snapshot is checked by the same digest, computed where it lives.
 * Each 64-bit half is summed as four 16-bit chunks in bigint (no overflow below
 * 2^47 members, and far faster than numeric), then recombined modulo 2^64 here.
 */
async function verifyDigest(client: pg.Client, snapshots: string, snapshot: string, prior: CohortState): Promise<void> {
  const chunks = Array.from({ length: 8 }, (_, i) => `sum(('x' || substr(h, ${1 + i * 4}, 4))::bit(16)::int::bigint)::text AS c${i}`).join(", ");
  const row = (await client.query<Record<string, string | null>>(`SELECT count(*)::text AS n, ${chunks} FROM (SELECT md5(key) AS h FROM ${snapshots} WHERE snapshot = $1) AS d`, [snapshot])).rows[0]!;
  const half = (first: number) => {
    let value = 0n;
    for (let i = 0; i < 4; i++) value += BigInt(row[`c${first + i}`] ?? "0") << BigInt(16 * (3 - i));
    return value % 2n ** 64n;
  };
  const digest = formatDigest(Number(row.n), half(0), half(4));
  if (digest !== prior.members.digest) {
    throw new CohoError("state.snapshot_mismatch", `a snapshot in the state database does not match its state: expected ${prior.members.count} members (digest ${prior.members.digest}), found ${row.n} (digest ${digest})`);
  }
}

/** Streams the keys of a query into a new engine table. */
async function pull(engine: DuckDbEngine, client: pg.Client, sql: string, params: string[], kind: "add" | "remove"): Promise<{ count: number; delta: Partial<MembershipDelta> }> {
  const name = engine.tempTable(`pushed_${kind}`);
  await engine.connection.run(`CREATE TABLE memory.main.${name} (key VARCHAR)`);
  const appender = await engine.connection.createAppender(name, "main", "memory");
  let count = 0;
  const cursor = client.query(new Cursor(sql, params, { rowMode: "array" }));
  try {
    for (;;) {
      const rows = (await cursor.read(10_000)) as string[][];
      if (rows.length === 0) break;
      for (const [key] of rows) {
        appender.appendVarchar(key!);
        appender.endRow();
      }
      count += rows.length;
    }
  } finally {
    await cursor.close().catch(() => undefined);
    appender.closeSync();
  }
  const table = `memory.main.${name}`;
  return { count, delta: kind === "add" ? { addTable: table } : { removeTable: table } };
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
