import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { HISTORY_LIMIT, selectHistory, type HistoryQuery, type HistoryRecord, type HistoryStore } from "../model/history.js";
import { writeFileAtomic } from "../util/atomic-write.js";

/**
 * `.coho/history.jsonl`: one apply per line, appended and fsynced. When it grows
 * past HISTORY_LIMIT records it is rewritten atomically with the newest ones.
 */
export class LocalHistory implements HistoryStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async append(record: HistoryRecord): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(this.path, "a");
    try {
      writeSync(fd, `${JSON.stringify(record)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const records = this.#read();
    if (records.length > HISTORY_LIMIT) {
      writeFileAtomic(this.path, records.slice(-HISTORY_LIMIT).map((r) => `${JSON.stringify(r)}\n`).join(""));
    }
  }

  async list(query?: HistoryQuery): Promise<HistoryRecord[]> {
    return selectHistory(this.#read(), query);
  }

  /** Complete records; a torn line (a crash mid-append) is skipped. */
  #read(): HistoryRecord[] {
    if (!existsSync(this.path)) return [];
    const records: HistoryRecord[] = [];
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        records.push(JSON.parse(line) as HistoryRecord);
      } catch {
        // A torn write: the apply it describes finished without its record.
      }
    }
    return records;
  }
}
