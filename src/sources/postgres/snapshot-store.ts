import { CohoError } from "../../model/errors.js";
import type { ChangePages, Dialect, SnapshotFold, SnapshotHome, SnapshotStore, WarehouseSession, WrittenSnapshot } from "../dialect.js";

/** Changes per INSERT statement (three parameters each: far below the protocol's 32,767). */
const INSERT_ROWS = 1_000;
const PAGE = 10_000;

export interface StoreWiring {
  /** The source's name: push-down finds its target by it. */
  readonly source: string;
  readonly dialect: Dialect;
  open(): Promise<WarehouseSession>;
  /** The DDL of coho's tables on this server (a dialect may need to ask the server which form it takes). */
  ddl(session: WarehouseSession, schema: string): Promise<readonly string[]>;
  /** A driver error as a CohoError naming the source and what coho was doing (a missing grant, a lost connection). */
  failure(error: unknown, doing: string): Error;
}

/**
 * Snapshots in a schema coho owns inside a database spoken to over the PostgreSQL
 * wire protocol (PostgreSQL, Redshift), in the source's dialect: only portable SQL
 * (no arrays, no row constructors, no VALUES as a table, no table functions, no
 * TRUNCATE), `$n` parameters.
 *
 * Tables: snapshot_keys (snapshot, key) and snapshot_checks (snapshot, digest,
 * checksum). A snapshot's name is its cohort id and the tail of its digest, so the
 * same members rewritten keep the same name (an apply that changed nothing leaves
 * the state as it was). Its check is written with it: the digest is computed where
 * the rows are, once, and a cheap checksum of the rows recorded beside it; a reader
 * whose checksum still matches knows the digest holds (any other outcome computes the
 * digest again).
 */
export class PgWireSnapshotStore implements SnapshotStore {
  readonly #wiring: StoreWiring;
  readonly #schema: string;
  readonly #keys: string;
  readonly #checks: string;
  #ready: Promise<void> | undefined;

  constructor(wiring: StoreWiring, schema: string) {
    this.#wiring = wiring;
    this.#schema = schema;
    const q = wiring.dialect.quote(schema);
    this.#keys = `${q}.snapshot_keys`;
    this.#checks = `${q}.snapshot_checks`;
  }

  holds(snapshot: string): boolean {
    return snapshot.startsWith(`${this.#wiring.dialect.name}:`);
  }

  /** Creates nothing: a plan may run with read-only grants (tables exist once a snapshot was recorded). */
  async home(): Promise<SnapshotHome> {
    return {
      location: { kind: "source", source: this.#wiring.source },
      snapshots: this.#keys,
      verify: (snapshot, expected) => this.#withSession("verified a recorded snapshot", (session) => this.#verify(session, snapshot, expected)),
    };
  }

  async *keys(snapshot: string): AsyncIterable<readonly string[]> {
    const session = await this.#wiring.open();
    try {
      for await (const page of session.pages(`SELECT key FROM ${this.#keys} WHERE snapshot = $1`, [snapshot], PAGE)) yield page.map((row) => String(row[0]));
    } catch (error) {
      throw this.#wiring.failure(error, "read a recorded snapshot");
    } finally {
      await session.close();
    }
  }

  async fold(jobs: readonly SnapshotFold[], changes: ChangePages): Promise<WrittenSnapshot[]> {
    await this.#prepare();
    const d = this.#wiring.dialect;
    return this.#withSession("wrote new snapshots", async (session) => {
      await session.run("BEGIN");
      try {
        await session.run(`CREATE TEMP TABLE coho_changes (slot INTEGER, key ${d.textType}, removed BOOLEAN)`);
        await insertChanges(session, changes);
        await session.run(`CREATE TEMP TABLE coho_folded (slot INTEGER, key ${d.textType})`);
        // Each base is verified first (its recorded checksum, else its digest): a snapshot edited in
        // the warehouse fails here instead of being carried into the next one.
        for (const job of jobs) if (job.base && job.base.count > 0) await this.#verify(session, job.base.snapshot, job.base);
        const written: WrittenSnapshot[] = [];
        for (const job of jobs) {
          // (base ∪ additions) − removals, removals winning: as apply/fold-journal.ts folds locally.
          const base = job.base && job.base.count > 0 ? `SELECT key FROM ${this.#keys} WHERE snapshot = $1 UNION ` : "";
          await session.run(
            `INSERT INTO coho_folded (slot, key)
             SELECT ${job.slot}, u.key FROM (${base}SELECT key FROM coho_changes WHERE slot = ${job.slot} AND NOT removed) AS u
             LEFT JOIN (SELECT key FROM coho_changes WHERE slot = ${job.slot} AND removed) AS r ON r.key = u.key
             WHERE r.key IS NULL`,
            base ? [job.base!.snapshot] : [],
          );
          const digest = d.digestFromRow((await session.rows(d.memberDigestSql(`SELECT key FROM coho_folded WHERE slot = ${job.slot}`)))[0] ?? []);
          const snapshot = `${d.name}:${job.cohortId}.${digest.slice(-16)}`;
          const count = Number(/^v1:(\d+):/.exec(digest)?.[1] ?? 0);
          written.push({ snapshot, count, digest });
          // The same members under the same name: already there, with its check.
          if (job.base && job.base.snapshot === snapshot) continue;
          await session.run(`DELETE FROM ${this.#keys} WHERE snapshot = $1`, [snapshot]);
          await session.run(`INSERT INTO ${this.#keys} (snapshot, key) SELECT $1, key FROM coho_folded WHERE slot = ${job.slot}`, [snapshot]);
          await this.#recordCheck(session, snapshot, digest);
        }
        await session.run("COMMIT");
        return written;
      } catch (error) {
        await session.run("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
  }

  async prune(keep: readonly string[]): Promise<void> {
    await this.#prepare();
    const kept = keep.length === 0 ? "" : ` WHERE snapshot NOT IN (${keep.map((_, i) => `$${i + 1}`).join(", ")})`;
    await this.#withSession("deleted old snapshots", async (session) => {
      await session.run("BEGIN");
      try {
        await session.run(`DELETE FROM ${this.#keys}${kept}`, keep);
        await session.run(`DELETE FROM ${this.#checks}${kept}`, keep);
        await session.run("COMMIT");
      } catch (error) {
        await session.run("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
  }

  async #verify(session: WarehouseSession, snapshot: string, expected: { readonly count: number; readonly digest: string }): Promise<void> {
    const d = this.#wiring.dialect;
    const checksum = JSON.stringify((await session.rows(d.checksumSql(this.#keys), [snapshot]))[0] ?? []);
    const recorded = await session.rows(`SELECT checksum FROM ${this.#checks} WHERE snapshot = $1 AND digest = $2`, [snapshot, expected.digest]);
    if (recorded.some((row) => row[0] === checksum)) return;
    const found = d.digestFromRow((await session.rows(d.memberDigestSql(`SELECT key FROM ${this.#keys} WHERE snapshot = $1`), [snapshot]))[0] ?? []);
    if (found !== expected.digest) {
      throw new CohoError("state.snapshot_mismatch", `a snapshot in ${this.#wiring.source}'s schema ${this.#schema} does not match its state: expected ${expected.count} members (digest ${expected.digest}), found digest ${found}`, {
        hint: "someone changed coho's snapshot tables; forget the cohort with `coho state rm <address>` then apply again (which sends every member; on Cohort Import, set its cohort_id in the configuration to keep the same Braze cohort)",
      });
    }
  }

  /** The checksum of `snapshot`'s rows as just written, recorded with the digest they were computed to have. */
  async #recordCheck(session: WarehouseSession, snapshot: string, digest: string): Promise<void> {
    const checksum = JSON.stringify((await session.rows(this.#wiring.dialect.checksumSql(this.#keys), [snapshot]))[0] ?? []);
    await session.run(`DELETE FROM ${this.#checks} WHERE snapshot = $1`, [snapshot]);
    await session.run(`INSERT INTO ${this.#checks} (snapshot, digest, checksum) VALUES ($1, $2, $3)`, [snapshot, digest, checksum]);
  }

  async #withSession<T>(doing: string, work: (session: WarehouseSession) => Promise<T>): Promise<T> {
    const session = await this.#wiring.open();
    try {
      return await work(session);
    } catch (error) {
      throw this.#wiring.failure(error, doing);
    } finally {
      await session.close();
    }
  }

  prepare(): Promise<void> {
    return this.#prepare();
  }

  #prepare(): Promise<void> {
    this.#ready ??= this.#withSession(`created its tables in schema ${this.#schema}`, async (session) => {
      for (const statement of await this.#wiring.ddl(session, this.#schema)) await session.run(statement);
    });
    return this.#ready;
  }
}

/** The acknowledged changes into the session's temp table, in multi-row INSERTs with parameters. */
async function insertChanges(session: WarehouseSession, changes: ChangePages): Promise<void> {
  let rows: unknown[] = [];
  const flush = async () => {
    if (rows.length === 0) return;
    const n = rows.length / 3;
    const values = Array.from({ length: n }, (_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(", ");
    await session.run(`INSERT INTO coho_changes (slot, key, removed) VALUES ${values}`, rows);
    rows = [];
  };
  for await (const page of changes) {
    for (const [slot, key, removed] of page) {
      rows.push(slot, key, removed);
      if (rows.length >= INSERT_ROWS * 3) await flush();
    }
  }
  await flush();
}
