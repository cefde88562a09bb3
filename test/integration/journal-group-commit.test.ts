import { fstatSync, fsync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CohoError } from "../../src/model/errors.js";
import { FileJournal, type JournalRecord } from "../../src/state/journal.js";

const batch = (seq: number): JournalRecord => ({ t: "batch", address: "cohorts.a", seq, destination: "braze", cohort_id: "c1", add: [`external_id:user-${seq}`], remove: [] });
const ack = (seq: number): JournalRecord => ({ t: "ack", address: "cohorts.a", seq });

/** The real fsync, counted: how many ran, and how many bytes the latest finished one covered. */
function countedSync() {
  const stats = { started: 0, coveredBytes: 0 };
  const sync = (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => {
    stats.started++;
    const size = fstatSync(fd).size;
    fsync(fd, (error) => {
      if (!error) stats.coveredBytes = Math.max(stats.coveredBytes, size);
      done(error);
    });
  };
  return { stats, sync };
}

function freshPath(): string {
  return join(mkdtempSync(join(tmpdir(), "coho-journal-gc-")), "journal.jsonl");
}

describe("the apply journal's group commit", () => {
  it("makes every batch record durable before append resolves, with one fsync for many concurrent records", async () => {
    const path = freshPath();
    const { stats, sync } = countedSync();
    const journal = new FileJournal(path, { sync });
    const pending = Array.from({ length: 20 }, (_, seq) => {
      const appended = journal.append(batch(seq));
      // The record is written synchronously by append; the promise waits for the sync only.
      const written = statSync(path).size;
      return appended.then(() => expect(stats.coveredBytes).toBeGreaterThanOrEqual(written));
    });
    await Promise.all(pending);
    journal.close();
    expect(stats.started).toBeGreaterThanOrEqual(1);
    expect(stats.started).toBeLessThan(20);
    expect(new FileJournal(path).readSync().map((r) => (r.t === "batch" ? r.seq : -1))).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("writes an acknowledgement at once without waiting for a sync, and syncs it on close", async () => {
    const path = freshPath();
    const { stats, sync } = countedSync();
    const journal = new FileJournal(path, { sync });
    await journal.append(batch(0));
    const syncsBefore = stats.started;
    await journal.append(ack(0));
    expect(stats.started).toBe(syncsBefore);
    expect(new FileJournal(path).readSync().map((r) => r.t)).toEqual(["batch", "ack"]);
    // The next batch's sync covers the acknowledgement written before it.
    await journal.append(batch(1));
    expect(stats.coveredBytes).toBe(statSync(path).size);
    await journal.append(ack(1));
    journal.close();
    expect(new FileJournal(path).readSync().map((r) => r.t)).toEqual(["batch", "ack", "batch", "ack"]);
  });

  it("a failed sync rejects every waiting append with a typed error and cuts their records off", async () => {
    const path = freshPath();
    let fail = false;
    const sync = (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => {
      if (fail) setImmediate(() => done(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" })));
      else fsync(fd, done);
    };
    const journal = new FileJournal(path, { sync });
    await journal.append(batch(0));
    const durable = readFileSync(path);
    fail = true;
    const results = await Promise.allSettled([journal.append(batch(1)), journal.append(batch(2))]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      const error = (result as PromiseRejectedResult).reason as CohoError;
      expect(error).toBeInstanceOf(CohoError);
      expect(error.code).toBe("state.io");
      expect(error.message).toMatch(/cannot write the apply journal \(.*journal\.jsonl\): input\/output error \(EIO\)/);
    }
    // Nothing the caller was told failed stays in the journal: it was never sent.
    expect(readFileSync(path).equals(durable)).toBe(true);
    fail = false;
    await journal.append(batch(3));
    journal.close();
    expect(new FileJournal(path).readSync().map((r) => (r.t === "batch" ? r.seq : -1))).toEqual([0, 3]);
  });
});
