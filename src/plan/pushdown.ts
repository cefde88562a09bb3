import { CohoError } from "../model/errors.js";
import type { IdentifierConfig, ModelConfig } from "../model/project.js";
import { noRejections, type RejectReason } from "../model/reject-reason.js";
import type { CohortState } from "../model/state.js";
import type { DiffRow, WarehouseSession } from "../sources/dialect.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { throwIfNullKeys } from "../sources/extract-members.js";
import { keyPrefix } from "../sources/identifier-sql.js";
import type { Source } from "../sources/source.js";
import { modelQuery } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import type { MembershipDelta } from "./membership-diff.js";

export interface PushedDown {
  readonly rows: number;
  readonly members: number;
  readonly rejected: Record<RejectReason, number>;
  readonly delta: MembershipDelta;
}

/** Rows per page of the diff's result. */
const PAGE = 10_000;

/**
 * The membership diff inside the warehouse, when a model's source is the very
 * database that holds the snapshots (the source offers a PushDownTarget for the
 * state's SnapshotHome, sources/dialect.ts): the model runs, identifiers are checked
 * by the same rules as identifier-sql.ts (in the source's dialect) and both set
 * differences are computed there; only counts and the added and removed keys leave
 * the database, and the recorded snapshot is verified where it lives.
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
  // A list of identifiers (first non-null per row) is planned in the engine only.
  if (identifier.type === "first_of" || !source.pushDownTarget || !backend.snapshotHome) return undefined;
  const home = await backend.snapshotHome();
  const target = home ? source.pushDownTarget(home) : undefined;
  if (!home || !target) return undefined;

  // A recorded snapshot kept elsewhere (written before the snapshots moved): the embedded path reads it.
  if (prior && prior.members.count > 0 && home.holds && !home.holds(prior.snapshot)) return undefined;

  const columns = await source.describe(model);
  const find = (name: string) => columns.find((c) => c.name === name) ?? columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
  const value = find(identifier.column);
  const pk = model.primaryKey === undefined ? undefined : find(model.primaryKey);
  // Column problems get the embedded path's located messages.
  if (!value || value.kind === "other" || (model.primaryKey !== undefined && (!pk || pk.kind === "other"))) return undefined;

  const snapshot = prior && prior.members.count > 0 ? prior.snapshot : undefined;
  // The recorded snapshot is verified on a connection of its own, while the diff runs:
  // the server computes both at once (a diff over a snapshot that fails it is discarded).
  const verified = snapshot ? home.verify(snapshot, prior!.members) : Promise.resolve();
  verified.catch(() => undefined); // awaited below, on every path
  const session = await target.open().catch(async (error: unknown) => {
    await verified.catch(() => undefined);
    throw error;
  });
  const d = target.dialect;
  try {
    for (const setting of d.sessionSettings) await session.run(setting);
    const select = `SELECT ${pk ? d.asText(d.quote(pk.name)) : d.nullText} AS pk, ${d.asText(d.quote(value.name))} AS v FROM (\n`;
    const modelRows = `${select}${modelQuery(model)}\n) AS coho_model`;
    if (pk) {
      // With a primary key the model's rows are kept once, for the uniqueness check first.
      const create = d.createTempTable("coho_rows", "");
      try {
        await session.run(d.createTempTable("coho_rows", modelRows));
      } catch (error) {
        throw target.queryError(model, error, create.length + select.length);
      }
      await checkPrimaryKey(session, model);
    }
    for (const setting of d.diffSettings) await session.run(setting);
    const sql = d.diffSql(pk ? "SELECT v FROM coho_rows" : modelRows, snapshot ? home.snapshots : undefined);
    let pulled: Awaited<ReturnType<typeof pullChanges>>;
    try {
      pulled = await pullChanges(engine, session.pages(sql, d.diffParams(keyPrefix(identifier), snapshot), PAGE));
    } catch (error) {
      throw pk ? error : target.queryError(model, error, sql.indexOf(modelRows) + select.length);
    }
    await verified;
    return { rows: pulled.rows, members: pulled.members, rejected: pulled.rejected, delta: pulled.delta };
  } finally {
    await verified.catch(() => undefined);
    await session.close();
  }
}

async function checkPrimaryKey(session: WarehouseSession, model: ModelConfig): Promise<void> {
  const nulls = await session.rows("SELECT count(*) FROM coho_rows WHERE pk IS NULL");
  throwIfNullKeys(model, Number((nulls[0] as unknown[] | undefined)?.[0] ?? 0));
  const rows = await session.rows("SELECT pk, count(*) AS n FROM coho_rows WHERE pk IS NOT NULL GROUP BY pk HAVING count(*) > 1 ORDER BY count(*) DESC, pk LIMIT 1");
  const row = rows[0];
  if (!row) return;
  const [pk, n] = row as [string | null, unknown];
  throw new CohoError("source.primary_key_not_unique", `model ${model.name}: primary_key \`${model.primaryKey}\` is not unique: ${pk === null ? "NULL" : JSON.stringify(pk)} appears ${Number(n)} times`, {
    location: model.origin,
    hint: "deduplicate in the SQL (e.g. SELECT DISTINCT or GROUP BY), or choose another primary_key",
  });
}

/**
 * Streams the diff's rows (Dialect.diffSql): changed keys into two new engine tables,
 * additions and removals; rejection counts and the valid rows' summary into numbers.
 */
async function pullChanges(engine: DuckDbEngine, pages: AsyncIterable<readonly unknown[][]>) {
  const changes = engine.tempTable("pushed_changes");
  await engine.connection.run(`CREATE TABLE memory.main.${changes} (key VARCHAR, removed BOOLEAN)`);
  const appender = await engine.connection.createAppender(changes, "main", "memory");
  const rejected = noRejections();
  const counts = { add: 0, remove: 0, validRows: 0, members: 0 };
  try {
    for await (const page of pages) {
      for (const [kind, key, n, groups] of page as DiffRow[]) {
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

