import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { CohoError } from "../model/errors.js";
import { HISTORY_LIMIT, selectHistory, type HistoryQuery, type HistoryRecord, type HistoryStore } from "../model/history.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { scanLines } from "./journal.js";
import { stateWriteError } from "./storage-error.js";

/**
 * `.coho/history.jsonl`: one apply per line, with the journal's write discipline.
 * Invariant: the file is a sequence of complete lines. An append first cuts a torn
 * tail (a crash or a full disk mid-append), then writes the whole record and
 * fsyncs it; a failed write is cut back, so the next record never lands glued to
 * a torn one. Reading treats only a torn last line as the end; a damaged line
 * with records after it is named, never silently skipped or hiding them. Past
 * HISTORY_LIMIT records the file is rewritten atomically with the newest ones.
 */
export class LocalHistory implements HistoryStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async append(record: HistoryRecord): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const { records, validBytes } = this.#scan();
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`, "utf8");
    let fd: number | undefined;
    try {
      fd = openSync(this.path, "a");
      if (fstatSync(fd).size > validBytes) ftruncateSync(fd, validBytes);
      for (let written = 0; written < bytes.length; ) {
        const n = writeSync(fd, bytes, written, bytes.length - written);
        if (n <= 0) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
        written += n;
      }
      fsyncSync(fd);
    } catch (error) {
      if (fd !== undefined) cutBack(fd, validBytes);
      throw stateWriteError("the apply history", this.path, error, "the apply itself is recorded in state; only its history line is missing");
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (records.length + 1 > HISTORY_LIMIT) {
      writeFileAtomic(this.path, [...records, record].slice(-HISTORY_LIMIT).map((r) => `${JSON.stringify(r)}\n`).join(""));
    }
  }

  async list(query?: HistoryQuery): Promise<HistoryRecord[]> {
    return selectHistory(this.#scan().records, query);
  }

  /** Complete records; a torn last line is the end of the file, a damaged line before others an error. */
  #scan(): { records: HistoryRecord[]; validBytes: number } {
    if (!existsSync(this.path)) return { records: [], validBytes: 0 };
    const { records, validBytes, damaged } = scanLines(readFileSync(this.path), isHistoryRecord);
    if (damaged) {
      throw new CohoError("history.damaged", `line ${damaged.line} of the apply history (${this.path}) is damaged (not a complete record), and ${damaged.after} record(s) follow it`, {
        hint: "history is only ever appended to, so something else changed it: delete or repair that line; every other line is a record of its own",
      });
    }
    return { records, validBytes };
  }
}

function isHistoryRecord(value: unknown): value is HistoryRecord {
  return typeof value === "object" && value !== null && (value as { format?: unknown }).format === "coho-history";
}

/** Truncating frees space, so it works on a full disk; if even that fails, the torn line is the last one and the next append cuts it. */
function cutBack(fd: number, size: number): void {
  try {
    ftruncateSync(fd, size);
    fsyncSync(fd);
  } catch {
    // See above.
  }
}
