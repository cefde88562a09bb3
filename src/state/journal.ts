import { closeSync, existsSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { CohortState } from "../model/state.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { stateWriteError } from "./storage-error.js";
import { CohoError } from "../model/errors.js";

/**
 * The write-ahead journal of an apply (`.coho/journal.jsonl`). Every record that
 * announces an action is durable before the action: a batch is journaled (and
 * fsynced) before it is sent, and acknowledged after Braze answered 2xx. State advances
 * only by folding acknowledged records into it; records whose fate is unknown are
 * re-sent by the next run (membership changes are idempotent).
 */
export type JournalRecord =
  | { readonly t: "begin"; readonly apply_id: string; readonly started_at: string }
  /** What state will hold for this address once its work is acknowledged. */
  /**
   * `prepares`: an upsert record follows before any request of this cohort (a
   * creation, an adoption, a rename or a re-target); a journal that holds this
   * record without that upsert ends before the cohort reached Braze.
   */
  | { readonly t: "cohort"; readonly address: string; readonly moved_from?: string; readonly retarget: boolean; readonly entry: CohortEntryMeta; readonly prior_name: string | null; readonly prepares?: true }
  | { readonly t: "upsert"; readonly address: string; readonly destination: string; readonly cohort_id: string; readonly name: string; readonly created_at: string }
  | { readonly t: "upsert_ack"; readonly address: string }
  | { readonly t: "batch"; readonly address: string; readonly seq: number; readonly destination: string; readonly cohort_id: string; readonly target?: string; readonly add: readonly string[]; readonly remove: readonly string[] }
  /** Braze answered the batch; `refused` members (refused one by one) are not acknowledged. */
  | { readonly t: "ack"; readonly address: string; readonly seq: number; readonly refused?: readonly string[]; readonly unconfirmed?: readonly string[] }
  /** A delete whose removals are all acknowledged: drop it from state. */
  | { readonly t: "forget"; readonly address: string };

/** A state entry without its membership, which the fold computes. */
export type CohortEntryMeta = Omit<CohortState, "members" | "snapshot" | "snapshot_sha256" | "applied_at" | "refused" | "unconfirmed">;

/**
 * Where the journal lives: a file beside local state, or a table beside
 * PostgreSQL state. `append` resolves only once the record is durable, except
 * for acknowledgements (see `mayDeferSync`): those are written at once and made
 * durable by the next sync. Losing one to a power cut only re-sends a batch
 * Braze already has, which is harmless (membership changes are idempotent).
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
  /** The asynchronous fsync (default node:fs `fsync`); tests wrap it to count syncs or inject a failure. */
  readonly sync?: (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => void;
}

/**
 * Records whose loss costs only an idempotent re-send: an acknowledgement not yet
 * on disk when the machine dies leaves its batch pending, and the next run sends
 * it again. Everything else announces an action and must be durable before it.
 */
export function mayDeferSync(record: JournalRecord): boolean {
  return record.t === "ack" || record.t === "upsert_ack";
}

/**
 * The local journal, `.coho/journal.jsonl`, appended record by record.
 * Invariant: the file is a sequence of complete lines. A record is either wholly
 * written before `append` returns, or the file is truncated back to where it was
 * and `append` throws a typed error, so the caller never acts on a record the
 * journal does not hold. Durability is group-committed: every append that must
 * be durable waits for an fsync that started after its write, and concurrent
 * appends share one (asynchronous, so requests in flight are not stalled).
 * A torn trailing line (a crash mid-write) is the end of the file, and is cut
 * off before the next append.
 */
export class FileJournal implements JournalStore {
  readonly path: string;
  readonly #options: FileJournalOptions;
  #fd: number | undefined;
  /** Bytes of complete records written. */
  #size = 0;
  /** Bytes known to be on disk (fsynced); never more than #size. */
  #durable = 0;
  /** The fsync under way, if any; it covers the bytes written before it started. */
  #syncing: Promise<void> | undefined;

  constructor(path: string, options: FileJournalOptions = {}) {
    this.path = path;
    this.#options = options;
  }

  async append(record: JournalRecord): Promise<void> {
    const end = this.#write(record);
    if (!mayDeferSync(record)) await this.#syncTo(end);
  }

  async read(): Promise<JournalRecord[]> {
    return this.readSync();
  }

  async replace(records: readonly JournalRecord[]): Promise<void> {
    this.replaceSync(records);
  }

  /** Appends a record and forces it (and everything before it) to disk before returning. */
  appendSync(record: JournalRecord): void {
    this.#write(record);
    this.#flushSync();
  }

  /** Every complete record; a torn last line was never acted on, a damaged line before others is an error (scanJournal). */
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

  /** Makes deferred acknowledgements durable, then lets go of the file. */
  close(): void {
    if (this.#fd === undefined) return;
    try {
      if (this.#durable < this.#size) fsyncSync(this.#fd);
    } catch {
      // Only acknowledgements can be waiting here: losing them re-sends their batches.
    }
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Writes one whole record (not yet synced); returns the file size after it. On failure the file is as before. */
  #write(record: JournalRecord): number {
    this.#options.fence?.();
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`, "utf8");
    try {
      const fd = this.#open();
      this.#writeAll(fd, bytes);
      this.#size += bytes.length;
      return this.#size;
    } catch (error) {
      this.#rollBack(this.#size);
      throw stateWriteError("the apply journal", this.path, error);
    }
  }

  /** Resolves once the first `end` bytes are on disk, joining or starting a shared fsync. */
  async #syncTo(end: number): Promise<void> {
    while (this.#durable < end) {
      this.#syncing ??= this.#startSync();
      await this.#syncing;
    }
  }

  #startSync(): Promise<void> {
    const fd = this.#fd!;
    const upTo = this.#size;
    return new Promise<void>((resolve, reject) => {
      (this.#options.sync ?? fsync)(fd, (error) => {
        this.#syncing = undefined;
        if (error) {
          // Nothing past the durable point may be trusted: cut it, so no waiter's record stays behind.
          this.#rollBack(this.#durable);
          reject(stateWriteError("the apply journal", this.path, error));
          return;
        }
        this.#durable = Math.max(this.#durable, upTo);
        resolve();
      });
    });
  }

  #flushSync(): void {
    try {
      fsyncSync(this.#open());
      this.#durable = this.#size;
    } catch (error) {
      this.#rollBack(this.#durable);
      throw stateWriteError("the apply journal", this.path, error);
    }
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
    this.#durable = validBytes;
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

  /** Cuts the file back to `size` bytes (truncating frees space, so it works on a full disk). */
  #rollBack(size: number): void {
    if (this.#fd === undefined) return;
    try {
      ftruncateSync(this.#fd, size);
      fsyncSync(this.#fd);
      this.#size = size;
      this.#durable = Math.min(this.#durable, size);
    } catch {
      // The torn line stays, but it is the last one: reading ends before it and the next open cuts it.
    }
  }
}

/**
 * The complete records of a journal file and the byte length they take up.
 * Only the end of the file may be torn (a crash mid-append): a last line without
 * its newline, or one that does not parse with nothing but blank space after it,
 * is where the file ends. A damaged line with records after it is not a crash
 * (appends only ever add at the end): it is an error naming the line, because
 * reading on or stopping there would both misjudge which requests Braze has.
 */
export function scanJournal(path: string): { records: JournalRecord[]; validBytes: number } {
  if (!existsSync(path)) return { records: [], validBytes: 0 };
  const { records, validBytes, damaged } = scanLines<JournalRecord>(readFileSync(path), isJournalRecord);
  if (damaged) {
    throw new CohoError("state.journal_damaged", `line ${damaged.line} of the apply journal (${path}) is damaged (not a complete record), and ${damaged.after} record(s) follow it; coho will not guess which requests it described`, {
      hint: "the journal is only ever appended to, so something else changed it: restore it from a backup, or repair that line by hand; `coho state journal` lists the pending requests once it reads",
    });
  }
  return { records, validBytes };
}

function isJournalRecord(value: unknown): value is JournalRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as { t?: unknown }).t === "string";
}

/** One append-only JSON-lines file read: its records, how many bytes they take, and the first damaged line followed by records. */
export function scanLines<T>(bytes: Buffer, valid: (value: unknown) => value is T): { records: T[]; validBytes: number; damaged?: { line: number; after: number } } {
  const records: T[] = [];
  let start = 0;
  let line = 0;
  let firstBad: { line: number; start: number } | undefined;
  let after = 0;
  for (;;) {
    const end = bytes.indexOf(0x0a, start);
    if (end < 0) break;
    line++;
    const text = bytes.subarray(start, end).toString("utf8");
    if (text.replace(/\0/g, "").trim() !== "") {
      const record = parse(text, valid);
      if (firstBad) {
        if (record !== undefined) after++;
      } else if (record === undefined) firstBad = { line, start };
      else records.push(record);
    }
    start = end + 1;
  }
  if (firstBad && after > 0) return { records, validBytes: firstBad.start, damaged: { line: firstBad.line, after } };
  return { records, validBytes: firstBad ? firstBad.start : start };
}

function parse<T>(text: string, valid: (value: unknown) => value is T): T | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return valid(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
