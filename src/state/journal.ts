import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { CohortState } from "../model/state.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { stateWriteError } from "./storage-error.js";

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

/** Writes bytes at the end of a file; returns how many were written (a short write is possible). */
export type WriteChunk = (fd: number, buffer: Buffer, offset: number, length: number) => number;

export interface FileJournalOptions {
  /** Called before every write; throws when this writer no longer holds the state lock. */
  readonly fence?: () => void;
  /** For tests on machines where no size-limited file system can be mounted: injects short writes. */
  readonly writeChunk?: WriteChunk;
}

/**
 * The local journal, `.coho/journal.jsonl`: appended and fsynced record by record.
 * Invariant: the file is a sequence of complete lines. A record is either wholly
 * on disk (written and fsynced) before `append` returns, or the file is truncated
 * back to where it was and `append` throws a typed error, so the caller never
 * acts on a record the journal does not hold. A torn trailing line (a crash
 * mid-write) is the end of the file, and is cut off before the next append.
 */
export class FileJournal implements JournalStore {
  readonly path: string;
  readonly #options: FileJournalOptions;
  #fd: number | undefined;
  #size = 0;

  constructor(path: string, options: FileJournalOptions = {}) {
    this.path = path;
    this.#options = options;
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

  /** Appends a record and forces it to disk before returning; on any failure the file is as before. */
  appendSync(record: JournalRecord): void {
    this.#options.fence?.();
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`, "utf8");
    try {
      const fd = this.#open();
      this.#writeAll(fd, bytes);
      fsyncSync(fd);
      this.#size += bytes.length;
    } catch (error) {
      this.#rollBack();
      throw stateWriteError("the apply journal", this.path, error);
    }
  }

  /** Every complete record; reading stops at the first torn or unreadable line: it was never acted on. */
  readSync(): JournalRecord[] {
    return scanJournal(this.path).records;
  }

  /** Replaces the journal with `records` (atomically), or removes it when empty. */
  replaceSync(records: readonly JournalRecord[]): void {
    this.#options.fence?.();
    this.close();
    if (records.length === 0) {
      if (existsSync(this.path)) unlinkSync(this.path);
      return;
    }
    try {
      writeFileAtomic(this.path, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    } catch (error) {
      throw stateWriteError("the apply journal", this.path, error, "the journal keeps its previous content");
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Opens for appending, first cutting off anything after the last complete record. */
  #open(): number {
    if (this.#fd !== undefined) return this.#fd;
    mkdirSync(dirname(this.path), { recursive: true });
    const { validBytes } = scanJournal(this.path);
    const fd = openSync(this.path, "a");
    if (fstatSync(fd).size > validBytes) {
      ftruncateSync(fd, validBytes);
      fsyncSync(fd);
    }
    this.#fd = fd;
    this.#size = validBytes;
    return fd;
  }

  #writeAll(fd: number, bytes: Buffer): void {
    const write = this.#options.writeChunk ?? ((f: number, b: Buffer, o: number, l: number) => writeSync(f, b, o, l));
    let written = 0;
    while (written < bytes.length) {
      const n = write(fd, bytes, written, bytes.length - written);
      if (n <= 0) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      written += n;
    }
  }

  /** Cuts a partly written record off again (truncating frees space, so it works on a full disk). */
  #rollBack(): void {
    if (this.#fd === undefined) return;
    try {
      ftruncateSync(this.#fd, this.#size);
      fsyncSync(this.#fd);
    } catch {
      // The torn line stays, but it is the last one: reading ends before it and the next open cuts it.
    }
  }
}

/** The complete records of a journal file and the byte length they take up. */
export function scanJournal(path: string): { records: JournalRecord[]; validBytes: number } {
  if (!existsSync(path)) return { records: [], validBytes: 0 };
  const bytes = readFileSync(path);
  const records: JournalRecord[] = [];
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) break;
    const line = bytes.subarray(start, end).toString("utf8");
    if (line.trim() !== "") {
      try {
        records.push(JSON.parse(line) as JournalRecord);
      } catch {
        break;
      }
    }
    start = end + 1;
  }
  return { records, validBytes: start };
}
