import type { HistoryStore } from "../model/history.js";
import type { LockfileDoc, LockInfo, StateView } from "../model/state.js";
import type { SnapshotHome } from "../sources/dialect.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { JournalStore } from "./journal.js";
import type { LockEvents } from "./local-lock.js";
import type { ExpectedSnapshot } from "./snapshot-record.js";

/** A snapshot written for a cohort: where, and what it holds. */
export interface SavedSnapshot {
  readonly snapshot: string;
  readonly count: number;
  readonly digest: string;
  /** Hex SHA-256 of the written file's bytes, when the snapshot is a file (local backend). */
  readonly sha256?: string;
}

/**
 * One snapshot of a batch save: the keys of the rows `slot = slot` of the batch's
 * table, which the caller has counted and digested (it often knows the digest
 * without reading every key again, see member-digest.ts shiftDigest).
 */
export interface SnapshotJob {
  readonly slot: number;
  readonly cohortId: string;
  readonly count: number;
  readonly digest: string;
}

/** One new snapshot built where the snapshots live: its base (if any) and the acknowledged changes of its slot. */
export interface FoldJob {
  readonly slot: number;
  readonly cohortId: string;
  readonly base: ExpectedSnapshot | undefined;
}

/**
 * Where state lives. The planner and executor see only this interface, so a
 * PostgreSQL backend can follow without touching them.
 */
export interface StateBackend {
  /**
   * Set when this backend knows cohorts but not their members (the coho.lock
   * mirror of PostgreSQL state, read without the database URL): says why.
   */
  readonly membersUnavailable?: string;
  /** With membersUnavailable: the committed mirror read instead (coho.lock, or coho.NAME.lock of an environment). */
  readonly mirrorLockfile?: string;
  /** The recorded state (the empty state when nothing was applied yet). */
  read(): Promise<StateView>;
  /** Writes the lockfile document atomically, keeping the previous one as a backup. */
  write(doc: LockfileDoc): Promise<void>;
  /** Loads a cohort's snapshot into an engine temp table (column `key`), verified (by file hash when recorded, else by digest). */
  loadSnapshot(engine: DuckDbEngine, address: string, expected: ExpectedSnapshot): Promise<string>;
  /**
   * Optional: a relation (column `key`) reading a cohort's snapshot where it lies,
   * when that is known to hold exactly the recorded members (a local file whose
   * SHA-256 is the recorded one); undefined otherwise, and the caller loads it
   * (loadSnapshot, which also names what is wrong). A plan's diff reads it in
   * place instead of copying every recorded key into a work table first.
   */
  snapshotInPlace?(address: string, expected: ExpectedSnapshot): Promise<string | undefined>;
  /**
   * Optional bulk read: the keys of every snapshot in `refs` appended to the engine
   * work table `memory.main.<into>` (file INTEGER, key VARCHAR), `file` being the index in `refs`,
   * in one round trip. Unverified: the caller checks every digest in one pass.
   */
  copySnapshots?(engine: DuckDbEngine, refs: readonly string[], into: string): Promise<void>;
  /** Saves the keys of `relation` (a SQL relation with column `key`) as a new snapshot. */
  saveSnapshot(engine: DuckDbEngine, cohortId: string, relation: string): Promise<SavedSnapshot>;
  /**
   * Saves many snapshots in one call: job i's holds the keys of `table` (an engine
   * relation with columns slot INTEGER and key VARCHAR, keys distinct per slot) whose
   * slot is job i's. Every one is durable when it resolves; results come in job
   * order. Nothing refers to them until the lockfile is written.
   */
  saveSnapshots(engine: DuckDbEngine, table: string, jobs: readonly SnapshotJob[]): Promise<SavedSnapshot[]>;
  /**
   * Optional: each job's new snapshot, (base ∪ acknowledged additions) − acknowledged
   * removals, built where the snapshots live from `changes` (an engine table with
   * columns slot INTEGER, key VARCHAR, removed BOOLEAN): the base's keys never travel.
   * Results in job order, durable when it resolves; fold uses it when present.
   */
  foldSnapshots?(engine: DuckDbEngine, changes: string, jobs: readonly FoldJob[]): Promise<SavedSnapshot[]>;
  /** Deletes snapshots no cohort of `doc` references. */
  pruneSnapshots(doc: LockfileDoc): Promise<void>;
  /** Takes the state lock, waiting up to `timeoutMs`; resolves to its release. */
  lock(info: LockInfo, timeoutMs: number, events?: LockEvents): Promise<() => void>;
  currentLock(): Promise<LockInfo | undefined>;
  /**
   * Fencing before a request leaves: throws `state.lock_lost` when the lock this
   * backend took is no longer its own (force-unlocked); resolves when it still
   * is, or when it holds none.
   */
  checkLock(): Promise<void>;
  /** Releases the lock of id `id`; `force` also takes it from a holder that is still alive. */
  forceUnlock(id: string, options?: { force?: boolean }): Promise<LockInfo>;
  /** The write-ahead journal of applies, stored with this state. */
  journal(): JournalStore;
  /** The record of past applies, stored with this state. */
  history(): HistoryStore;
  /**
   * Where the snapshots live when that is a database a source may reach too: the
   * planner pushes a model's diff down into it when the model's source is that
   * database (plan/pushdown.ts). Absent or undefined: snapshots are read into the engine.
   */
  snapshotHome?(): Promise<SnapshotHome | undefined>;
  /** Releases connections. */
  close(): Promise<void>;
}
