import type { HistoryStore } from "../model/history.js";
import type { LockfileDoc, LockInfo, StateView } from "../model/state.js";
import type { ChangePages, SnapshotHome, SnapshotStore } from "../sources/dialect.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { FoldJob, SavedSnapshot, SnapshotJob, StateBackend } from "./backend.js";
import type { JournalStore } from "./journal.js";
import type { LockEvents } from "./local-lock.js";
import { digestFromRow, memberDigestSql } from "./member-digest.js";
import type { ExpectedSnapshot } from "./snapshot-record.js";
import { CohoError } from "../model/errors.js";

const PAGE = 10_000;

/**
 * State whose member snapshots live inside a warehouse source (`state.snapshots`):
 * the lockfile, lock, journal and history stay with `base` (local files or
 * PostgreSQL); every snapshot operation goes to the source's SnapshotStore. Its
 * snapshotHome names the source, so the planner pushes a model of that source down
 * into the warehouse, and fold builds new snapshots there from the acknowledged
 * changes (foldSnapshots). Snapshots an earlier configuration recorded elsewhere
 * (local files, before `state.snapshots` was set) are still read from `base`, until
 * the next apply replaces them.
 */
export class WarehouseSnapshotsBackend implements StateBackend {
  readonly #base: StateBackend;
  readonly #store: SnapshotStore;
  readonly #owns: (snapshot: string) => boolean;
  readonly #closeStore: () => Promise<void>;

  constructor(base: StateBackend, store: SnapshotStore, owns: (snapshot: string) => boolean, closeStore: () => Promise<void>) {
    this.#base = base;
    this.#store = store;
    this.#owns = owns;
    this.#closeStore = closeStore;
  }

  get membersUnavailable(): string | undefined {
    return this.#base.membersUnavailable;
  }

  get mirrorLockfile(): string | undefined {
    return this.#base.mirrorLockfile;
  }

  read(): Promise<StateView> {
    return this.#base.read();
  }

  write(doc: LockfileDoc): Promise<void> {
    return this.#base.write(doc);
  }

  async snapshotHome(): Promise<SnapshotHome> {
    return { ...(await this.#store.home()), holds: this.#owns };
  }

  async snapshotInPlace(address: string, expected: ExpectedSnapshot): Promise<string | undefined> {
    return this.#owns(expected.snapshot) ? undefined : this.#base.snapshotInPlace?.(address, expected);
  }

  async loadSnapshot(engine: DuckDbEngine, address: string, expected: ExpectedSnapshot): Promise<string> {
    if (!this.#owns(expected.snapshot)) return this.#base.loadSnapshot(engine, address, expected);
    const name = engine.tempTable("snapshot");
    await engine.connection.run(`CREATE TABLE memory.main.${name} (key VARCHAR)`);
    const appender = await engine.connection.createAppender(name, "main", "memory");
    try {
      for await (const keys of this.#store.keys(expected.snapshot)) {
        for (const key of keys) {
          appender.appendVarchar(key);
          appender.endRow();
        }
      }
    } finally {
      appender.closeSync();
    }
    const row = (await engine.connection.runAndReadAll(memberDigestSql(`SELECT key FROM memory.main.${name}`))).getRows()[0] ?? [0n];
    const found = digestFromRow(row);
    if (found !== expected.digest) {
      await engine.drop(`memory.main.${name}`);
      throw new CohoError("state.snapshot_mismatch", `the snapshot of ${address} in the warehouse does not match its state: expected ${expected.count} members (digest ${expected.digest}), found ${Number(row[0] ?? 0)} (digest ${found})`, {
        hint: `forget the cohort with \`coho state rm ${address}\` then apply again (which sends every member; on Cohort Import, set its cohort_id in the configuration to keep the same Braze cohort)`,
      });
    }
    return `memory.main.${name}`;
  }

  async saveSnapshot(engine: DuckDbEngine, cohortId: string, relation: string): Promise<SavedSnapshot> {
    const staging = `memory.main.${engine.tempTable("to_save")}`;
    await engine.connection.run(`CREATE TABLE ${staging} AS SELECT 0 AS slot, key, false AS removed FROM (${relation})`);
    try {
      return (await this.foldSnapshots(engine, staging, [{ slot: 0, cohortId, base: undefined }]))[0]!;
    } finally {
      await engine.drop(staging);
    }
  }

  async saveSnapshots(engine: DuckDbEngine, table: string, jobs: readonly SnapshotJob[]): Promise<SavedSnapshot[]> {
    const staging = `memory.main.${engine.tempTable("to_save")}`;
    await engine.connection.run(`CREATE TABLE ${staging} AS SELECT slot, key, false AS removed FROM ${table}`);
    try {
      return await this.foldSnapshots(engine, staging, jobs.map((job) => ({ slot: job.slot, cohortId: job.cohortId, base: undefined })));
    } finally {
      await engine.drop(staging);
    }
  }

  /** Only the acknowledged changes travel: the warehouse builds (base ∪ additions) − removals itself. */
  async foldSnapshots(engine: DuckDbEngine, changes: string, jobs: readonly FoldJob[]): Promise<SavedSnapshot[]> {
    // A base recorded elsewhere (before state.snapshots) is sent along as additions, once.
    const foreign = jobs.filter((job) => job.base && !this.#owns(job.base.snapshot));
    let table = changes;
    const loaded: string[] = [];
    if (foreign.length > 0) {
      table = `memory.main.${engine.tempTable("fold_changes")}`;
      await engine.connection.run(`CREATE TABLE ${table} AS SELECT slot, key, removed FROM ${changes}`);
      for (const job of foreign) {
        const base = await this.#base.loadSnapshot(engine, `slot ${job.slot}`, job.base!);
        loaded.push(base);
        await engine.connection.run(`INSERT INTO ${table} SELECT ${job.slot}, key, false FROM ${base} WHERE key NOT IN (SELECT key FROM ${changes} WHERE slot = ${job.slot})`);
      }
    }
    try {
      const written = await this.#store.fold(
        jobs.map((job) => ({ slot: job.slot, cohortId: job.cohortId, base: job.base && this.#owns(job.base.snapshot) ? job.base : undefined })),
        changePages(engine, table),
      );
      return written.map((w) => ({ snapshot: w.snapshot, count: w.count, digest: w.digest }));
    } finally {
      if (table !== changes) await engine.drop(table, ...loaded);
    }
  }

  async pruneSnapshots(doc: LockfileDoc): Promise<void> {
    await this.#store.prune(Object.values(doc.cohorts).map((c) => c.snapshot).filter((s) => this.#owns(s)));
    // Local snapshot files no entry references any more go too (the base keeps those it still uses).
    await this.#base.pruneSnapshots(doc);
  }

  /** The lock, then coho's tables in the warehouse: an apply that may not create them stops before Braze hears of it. */
  async lock(info: LockInfo, timeoutMs: number, events?: LockEvents): Promise<() => void> {
    const release = await this.#base.lock(info, timeoutMs, events);
    try {
      await this.#store.prepare();
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  currentLock(): Promise<LockInfo | undefined> {
    return this.#base.currentLock();
  }

  checkLock(): Promise<void> {
    return this.#base.checkLock();
  }

  forceUnlock(id: string, options?: { force?: boolean }): Promise<LockInfo> {
    return this.#base.forceUnlock(id, options);
  }

  journal(): JournalStore {
    return this.#base.journal();
  }

  history(): HistoryStore {
    return this.#base.history();
  }

  async close(): Promise<void> {
    await this.#closeStore();
    await this.#base.close();
  }
}

/** The engine table (slot, key, removed) as pages for SnapshotStore.fold. */
async function* changePages(engine: DuckDbEngine, table: string): ChangePages {
  for await (const rows of engine.textRows(`SELECT slot, key, CASE WHEN removed THEN 1 ELSE 0 END FROM ${table}`, PAGE)) {
    yield rows.map(([slot, key, removed]) => [Number(slot), key!, removed === "1"] as const);
  }
}
