import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { CohortState } from "../model/state.js";

/**
 * The write-ahead journal of an apply (`.coho/journal.jsonl`). Every record is
 * appended and fsynced before the action it announces: a batch is journaled
 * before it is sent and acknowledged after Braze answered 2xx. State advances
 * only by folding acknowledged records into it; records whose fate is unknown are
 * re-sent by the next run (membership changes are idempotent).
 */
export type JournalRecord =
  | { readonly t: "begin"; readonly apply_id: string; readonly started_at: string }
  /** What state will hold for this address once its work is acknowledged. */
  | { readonly t: "cohort"; readonly address: string; readonly moved_from?: string; readonly retarget: boolean; readonly entry: CohortEntryMeta; readonly prior_name: string | null }
  | { readonly t: "upsert"; readonly address: string; readonly destination: string; readonly cohort_id: string; readonly name: string; readonly created_at: string }
  | { readonly t: "upsert_ack"; readonly address: string }
  | { readonly t: "batch"; readonly address: string; readonly seq: number; readonly destination: string; readonly cohort_id: string; readonly target?: string; readonly add: readonly string[]; readonly remove: readonly string[] }
  /** Braze answered the batch; `refused` members (refused one by one) are not acknowledged. */
  | { readonly t: "ack"; readonly address: string; readonly seq: number; readonly refused?: readonly string[] }
  /** A delete whose removals are all acknowledged: drop it from state. */
  | { readonly t: "forget"; readonly address: string };

/** A state entry without its membership, which the fold computes. */
export type CohortEntryMeta = Omit<CohortState, "members" | "snapshot" | "applied_at" | "refused">;

/**
 * Where the journal lives: a file beside local state, or a table beside
 * PostgreSQL state. `append` resolves only once the record is durable.
 */
export interface JournalStore {
  append(record: JournalRecord): Promise<void>;
  /** Every complete record, in order. */
  read(): Promise<JournalRecord[]>;
  /** Replaces the journal with `records` atomically (empty: the journal is gone). */
  replace(records: readonly JournalRecord[]): Promise<void>;
  close(): void;
}

/** The local journal, `.coho/journal.jsonl`: appended and fsynced record by record. */
export class FileJournal implements JournalStore {
  readonly path: string;
  #fd: number | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async append(record: JournalRecord): Promise<void> {
    this.appendSync(record);
  }

  async read(): Promise<JournalRecord[]> {
    return this.readSync();
  }

  async replace(records: readonly JournalRecord[]): Promise<void> {
    this.replaceSync(records);
  }

  /** Appends a record and forces it to disk before returning. */
  appendSync(record: JournalRecord): void {
    if (this.#fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.#fd = openSync(this.path, "a");
    }
    writeSync(this.#fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.#fd);
  }

  /** Every complete record; a torn last line (a crash mid-write) is ignored: it was never acted on. */
  readSync(): JournalRecord[] {
    if (!existsSync(this.path)) return [];
    const records: JournalRecord[] = [];
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        records.push(JSON.parse(line) as JournalRecord);
      } catch {
        break;
      }
    }
    return records;
  }

  /** Replaces the journal with `records` (atomically), or removes it when empty. */
  replaceSync(records: readonly JournalRecord[]): void {
    this.close();
    if (records.length === 0) {
      if (existsSync(this.path)) unlinkSync(this.path);
      return;
    }
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, "w");
    writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, this.path);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
