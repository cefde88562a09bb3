import { join } from "node:path";
import { CohoError } from "../model/errors.js";
import type { HistoryStore } from "../model/history.js";
import type { LockfileDoc, LockInfo, StateView } from "../model/state.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { SavedSnapshot, StateBackend } from "./backend.js";
import type { JournalRecord, JournalStore } from "./journal.js";
import { readLockfile } from "./lockfile.js";
import { DEFAULT_STATE_FILES, type StateFiles } from "../model/state-files.js";

/**
 * The state a plan can see when the PostgreSQL state URL is not available (a
 * pull request from a fork gets no secrets): the committed coho.lock mirror, read
 * only. It knows every cohort's id, name, model digest and member count, but no
 * member keys, so the planner shows membership as net counts and marks the plan
 * not applyable. Every writing or member-reading method refuses.
 */
export class MirrorBackend implements StateBackend {
  readonly #lockfilePath: string;
  /** Why member snapshots are unavailable; the planner reads this. */
  readonly membersUnavailable: string;
  /** The mirror this backend reads: its environment's lockfile. */
  readonly mirrorLockfile: string;

  constructor(projectDir: string, reason: string, files: StateFiles = DEFAULT_STATE_FILES) {
    this.#lockfilePath = join(projectDir, files.lockfile);
    this.membersUnavailable = reason;
    this.mirrorLockfile = files.lockfile;
  }

  async read(): Promise<StateView> {
    return readLockfile(this.#lockfilePath);
  }

  async write(_doc: LockfileDoc): Promise<void> {
    throw this.#refuse("write state");
  }

  async loadSnapshot(_engine: DuckDbEngine, address: string): Promise<string> {
    throw this.#refuse(`read the members of ${address}`);
  }

  async saveSnapshot(): Promise<SavedSnapshot> {
    throw this.#refuse("save a snapshot");
  }

  async saveSnapshots(): Promise<SavedSnapshot[]> {
    throw this.#refuse("save snapshots");
  }

  async pruneSnapshots(): Promise<void> {
    throw this.#refuse("prune snapshots");
  }

  async lock(_info: LockInfo): Promise<() => void> {
    throw this.#refuse("take the state lock");
  }

  /** It never takes the lock: there is nothing to lose. */
  async checkLock(): Promise<void> {}

  async currentLock(): Promise<LockInfo | undefined> {
    return undefined;
  }

  async forceUnlock(): Promise<LockInfo> {
    throw this.#refuse("release the state lock");
  }

  /** No journal is visible without the database: an interrupted apply cannot be seen. */
  journal(): JournalStore {
    return {
      append: async () => { throw this.#refuse("write the journal"); },
      read: async (): Promise<JournalRecord[]> => [],
      replace: async () => { throw this.#refuse("write the journal"); },
      close: () => undefined,
    };
  }

  history(): HistoryStore {
    return {
      append: async () => { throw this.#refuse("record the apply history"); },
      list: async () => { throw this.#refuse("read the apply history"); },
    };
  }

  async close(): Promise<void> {
    // Nothing held open.
  }

  #refuse(what: string): CohoError {
    return new CohoError("state.unavailable", `cannot ${what}: ${this.membersUnavailable}`, {
      hint: "set the state URL's environment variable (see state.url in coho.yaml)",
    });
  }
}
