import { existsSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { CohoError } from "../model/errors.js";
import type { HistoryStore } from "../model/history.js";
import type { LockfileDoc, LockInfo, StateView } from "../model/state.js";
import { EMPTY_STATE } from "../model/state.js";
import type { Secret } from "../model/secret.js";
import { literal, type DuckDbEngine } from "../sources/duckdb-engine.js";
import { describeTarget } from "../model/postgres-url.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import type { SavedSnapshot, SnapshotJob, StateBackend } from "./backend.js";
import type { JournalStore } from "./journal.js";
import type { LockEvents } from "./local-lock.js";
import { readLockfile, serializeLockfile } from "./lockfile.js";
import { DEFAULT_STATE_FILES, type StateFiles } from "../model/state-files.js";
import { digestFromRow, memberDigestSql } from "./member-digest.js";
import { memberCountProblems } from "./lockfile-checks.js";
import { copySnapshotRows } from "./postgres-copy.js";
import { copySnapshotsOut } from "./postgres-snapshots.js";
import { recordSnapshotChecks, verifySnapshot, type SnapshotTables } from "./postgres-snapshot-check.js";
import type { SnapshotHome } from "../sources/dialect.js";
import { PostgresHistory } from "./postgres-history.js";
import { PostgresJournal } from "./postgres-journal.js";
import { PostgresLock } from "./postgres-lock.js";
import { inTransaction, migrate, table } from "./postgres-schema.js";
import { pgDriver, pgCursorClass } from "../sources/postgres/pg-driver.js";
import { redactKnown } from "../model/redaction.js";

const BATCH = 10_000;

/**
 * State in PostgreSQL: the lockfile document, snapshots and the journal live in
 * tables of one schema, so every machine that runs coho (CI runners included)
 * shares them. The database is authoritative; coho.lock beside coho.yaml is its
 * readable mirror, rewritten after every write. A coho.lock that names another
 * lineage, or is ahead of the database, means coho is pointed at the wrong
 * database: reading refuses.
 */
export class PostgresBackend implements StateBackend {
  readonly #projectDir: string;
  /** The committed mirror's file name (coho.lock, or coho.<env>.lock). */
  readonly #lockfile: string;
  readonly #schema: string;
  readonly #config: pg.ClientConfig;
  readonly #url: Secret;
  readonly #pool: pg.Pool;
  readonly #lock: PostgresLock;
  #ready: Promise<void> | undefined;
  readonly #releases: Promise<void>[] = [];
  /** The lock this backend took, if any: the fencing token every write checks. */
  #held: LockInfo | undefined;

  constructor(projectDir: string, url: Secret, schema: string, files: StateFiles = DEFAULT_STATE_FILES) {
    this.#projectDir = projectDir;
    this.#lockfile = files.lockfile;
    this.#schema = schema;
    this.#url = url;
    this.#config = { connectionString: url.reveal(), application_name: "coho-state", connectionTimeoutMillis: 10_000 };
    this.#pool = new (pgDriver().Pool)({ ...this.#config, max: 4 });
    this.#pool.on("error", () => undefined);
    this.#lock = new PostgresLock(this.#config, this.#pool, schema);
  }

  async read(): Promise<StateView> {
    await this.#prepare();
    const { rows } = await this.#pool.query<{ doc: LockfileDoc }>(`SELECT doc FROM ${this.#t("state")} WHERE id = 1`);
    const doc = rows[0]?.doc ?? EMPTY_STATE;
    const problem = doc.lineage === null ? undefined : memberCountProblems(doc as LockfileDoc)[0];
    if (problem) throw new CohoError("state.lockfile_edited", `the state database (${this.#t("state")}): ${problem.message}`, { hint: "restore the state table from a backup" });
    this.#checkMirror(doc);
    return doc;
  }

  async write(doc: LockfileDoc): Promise<void> {
    await this.#prepare();
    // Serial must move by one from what is stored: a concurrent writer would fail here.
    const { rowCount } = await this.#fenced((client) => client.query(
      `INSERT INTO ${this.#t("state")} (id, lineage, serial, doc, written_at) VALUES (1, $1, $2, $3, now())
       ON CONFLICT (id) DO UPDATE SET lineage = EXCLUDED.lineage, serial = EXCLUDED.serial, doc = EXCLUDED.doc, written_at = now()
       WHERE ${this.#t("state")}.serial = $2 - 1 AND ${this.#t("state")}.lineage = $1`,
      [doc.lineage, doc.serial, JSON.stringify(doc)],
    ));
    if (rowCount !== 1) throw new CohoError("state.write_conflict", `the state database changed while coho worked (expected serial ${doc.serial - 1})`, { hint: "run the command again" });
    writeFileAtomic(join(this.#projectDir, this.#lockfile), serializeLockfile(doc));
  }

  async loadSnapshot(engine: DuckDbEngine, address: string, expected: { snapshot: string; count: number; digest: string }): Promise<string> {
    await this.#prepare();
    const name = engine.tempTable("snapshot");
    await engine.connection.run(`CREATE TABLE memory.main.${name} (key VARCHAR)`);
    const appender = await engine.connection.createAppender(name, "main", "memory");
    const client = await this.#pool.connect();
    try {
      const cursor = client.query(new (pgCursorClass())(`SELECT key FROM ${this.#t("snapshot_keys")} WHERE snapshot = $1`, [expected.snapshot], { rowMode: "array" }));
      for (;;) {
        const rows = (await cursor.read(BATCH)) as string[][];
        if (rows.length === 0) break;
        for (const [key] of rows) {
          appender.appendVarchar(key!);
          appender.endRow();
        }
      }
      await cursor.close();
    } finally {
      client.release();
      appender.closeSync();
    }
    const found = await digestOf(engine, `SELECT key FROM memory.main.${name}`);
    if (found.digest !== expected.digest) {
      throw new CohoError(
        "state.snapshot_mismatch",
        `the snapshot of ${address} in the state database does not match its state: expected ${expected.count} members (digest ${expected.digest}), found ${found.count} (digest ${found.digest})`,
        { hint: `forget the cohort with \`coho state rm ${address}\` then apply again (which sends every member; on Cohort Import, set its cohort_id in the configuration to keep the same Braze cohort)` },
      );
    }
    return `memory.main.${name}`;
  }

  async copySnapshots(engine: DuckDbEngine, refs: readonly string[], into: string): Promise<void> {
    await this.#prepare();
    const appender = await engine.connection.createAppender(into, "main", "memory");
    const client = await this.#pool.connect();
    let failed: Error | undefined;
    try {
      await copySnapshotsOut(client, this.#t("snapshot_keys"), refs, appender);
    } catch (error) {
      failed = error as Error;
      throw error;
    } finally {
      // A connection that failed mid-COPY is not handed out again.
      client.release(failed);
      appender.closeSync();
    }
  }

  async saveSnapshot(engine: DuckDbEngine, cohortId: string, relation: string): Promise<SavedSnapshot> {
    await this.#prepare();
    const { count, digest } = await digestOf(engine, relation);
    const staging = `memory.main.${engine.tempTable("to_save")}`;
    await engine.connection.run(`CREATE TABLE ${staging} AS SELECT 0 AS slot, key FROM (${relation})`);
    try {
      return (await this.saveSnapshots(engine, staging, [{ slot: 0, cohortId, count, digest }]))[0]!;
    } finally {
      await engine.drop(staging);
    }
  }

  /**
   * Every snapshot of the batch in one transaction: one DELETE of rows left under
   * their names (a retry after a failure), one COPY streaming all rows, one grouped
   * check (postgres-snapshot-check.ts). Committed, all are durable at once.
   */
  async saveSnapshots(engine: DuckDbEngine, table: string, jobs: readonly SnapshotJob[]): Promise<SavedSnapshot[]> {
    await this.#prepare();
    const saved = jobs.map((job) => ({ snapshot: `pg:${job.cohortId}.${job.digest.slice(-16)}`, count: job.count, digest: job.digest }));
    // A name is its content (cohort id + digest): a name twice in a batch is written once.
    const unique = new Map<string, { slot: number; digest: string }>();
    jobs.forEach((job, i) => unique.has(saved[i]!.snapshot) || unique.set(saved[i]!.snapshot, job));
    if (unique.size === 0) return saved;
    const names = `(VALUES ${[...unique].map(([name, job]) => `(${job.slot}, ${literal(name)})`).join(", ")}) AS coho_names(slot, snapshot)`;
    await this.#fenced(async (client) => {
      await client.query(`DELETE FROM ${this.#t("snapshot_keys")} WHERE snapshot = ANY($1::text[])`, [[...unique.keys()]]);
      await copySnapshotRows(client, this.#t("snapshot_keys"), engine.textRows(`SELECT coho_names.snapshot, t.key FROM ${table} AS t JOIN ${names} USING (slot)`, BATCH));
      await recordSnapshotChecks(client, this.#snapshotTables(), [...unique].map(([snapshot, job]) => ({ snapshot, digest: job.digest })));
    });
    return saved;
  }

  async pruneSnapshots(doc: LockfileDoc): Promise<void> {
    const keep = Object.values(doc.cohorts).map((c) => c.snapshot);
    await this.#fenced(async (client) => {
      await client.query(`DELETE FROM ${this.#t("snapshot_keys")} WHERE NOT (snapshot = ANY($1::text[]))`, [keep]);
      await client.query(`DELETE FROM ${this.#t("snapshot_checks")} WHERE NOT (snapshot = ANY($1::text[]))`, [keep]);
    });
  }

  async lock(info: LockInfo, timeoutMs: number, events?: LockEvents): Promise<() => void> {
    await this.#prepare();
    const release = await this.#lock.acquire(info, timeoutMs, events);
    this.#held = info;
    return () => {
      this.#held = undefined;
      this.#releases.push(release());
    };
  }

  async checkLock(): Promise<void> {
    const held = this.#held;
    if (!held) return;
    await this.#prepare();
    const { rowCount } = await this.#pool.query(`SELECT 1 WHERE ${this.#lock.fenceCondition(1)}`, [held.id]);
    if (rowCount !== 1) throw await this.#lock.lostError(held);
  }

  async currentLock(): Promise<LockInfo | undefined> {
    await this.#prepare();
    return this.#lock.current();
  }

  /** `force` changes nothing here: the holder may run on any host, so no liveness can be judged; it is fenced either way. */
  async forceUnlock(id: string, _options: { force?: boolean } = {}): Promise<LockInfo> {
    await this.#prepare();
    return this.#lock.forceUnlock(id);
  }

  /** Where snapshots live, for diffs pushed down into the same database (sources/dialect.ts). */
  async snapshotHome(): Promise<SnapshotHome> {
    await this.#prepare();
    const tables = this.#snapshotTables();
    return {
      location: { kind: "url", url: this.#url.reveal() },
      snapshots: tables.snapshots,
      // On a connection of its own, while the diff runs: the server computes both at once.
      verify: async (snapshot, expected) => {
        const client = await this.#pool.connect();
        try {
          await verifySnapshot(client, tables, snapshot, expected);
        } finally {
          client.release();
        }
      },
    };
  }

  #snapshotTables(): SnapshotTables {
    return { snapshots: this.#t("snapshot_keys"), checks: this.#t("snapshot_checks") };
  }

  journal(): JournalStore {
    return new PostgresJournal(this.#pool, this.#schema, () => this.#prepare(), (work) => this.#fenced(work), {
      condition: (param) => this.#lock.fenceCondition(param),
      lockId: () => this.#held?.id,
      lost: () => this.#lock.lostError(this.#held!),
    });
  }

  history(): HistoryStore {
    return new PostgresHistory(this.#pool, this.#schema, () => this.#prepare());
  }

  async close(): Promise<void> {
    await Promise.all(this.#releases);
    await this.#pool.end().catch(() => undefined);
  }

  /** A transaction that first checks (fencing) that the lock this backend took is still its own. */
  #fenced<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const held = this.#held;
    return inTransaction(this.#pool, async (client) => {
      if (held) await this.#lock.fence(client, held);
      return work(client);
    });
  }

  #t(name: string): string {
    return table(this.#schema, name);
  }

  /** Connects once and creates or migrates the tables. */
  #prepare(): Promise<void> {
    this.#ready ??= (async () => {
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        const reason = redactKnown((error instanceof Error ? error.message : String(error)).split(this.#url.reveal()).join("***"));
        throw new CohoError("state.postgres_unreachable", `cannot connect to the state database at ${describeTarget(this.#url.reveal())}: ${reason}`, {
          hint: `check the URL in environment variable ${this.#url.source}, and that the server is running`,
        });
      }
      try {
        await migrate(client, this.#schema);
      } catch (error) {
        if (error instanceof CohoError) throw error;
        // The server's own words (redacted: the schema may come from the environment), never an internal error.
        const reason = redactKnown((error instanceof Error ? error.message : String(error)).split(this.#url.reveal()).join("***"));
        throw new CohoError("state.postgres_setup_failed", `cannot create or update coho's tables in the state database at ${describeTarget(this.#url.reveal())}: ${reason}`, {
          hint: "give coho's database role CREATE on the database, or create the schema (state.schema, default coho) owned by that role",
        });
      } finally {
        client.release();
      }
    })();
    return this.#ready;
  }

  /** coho.lock must mirror this database: same lineage, never ahead of it. */
  #checkMirror(doc: StateView): void {
    const path = join(this.#projectDir, this.#lockfile);
    if (!existsSync(path)) return;
    const mirror = readLockfile(path);
    if (mirror.lineage === null) return;
    if (mirror.lineage !== doc.lineage || mirror.serial > doc.serial) {
      throw new CohoError(
        "state.mirror_mismatch",
        `coho.lock (lineage ${mirror.lineage}, serial ${mirror.serial}) disagrees with the state database (lineage ${doc.lineage ?? "none"}, serial ${doc.serial}): coho is pointed at another database than the one that wrote coho.lock`,
        { hint: "check COHO_STATE_URL and state.schema; if the database is right, delete coho.lock and it is rewritten by the next apply" },
      );
    }
  }
}

async function digestOf(engine: DuckDbEngine, relation: string): Promise<{ count: number; digest: string }> {
  const row = (await engine.connection.runAndReadAll(memberDigestSql(relation))).getRows()[0] ?? [0n];
  return { count: Number(row[0] ?? 0), digest: digestFromRow(row) };
}
