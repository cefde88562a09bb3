import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CohoError } from "../../src/model/errors.js";
import { FileJournal, type JournalRecord } from "../../src/state/journal.js";
import { CAN_MOUNT, fillDisk, mountSmallDisk } from "../helpers/small-disk.js";

const batch = (seq: number, n: number): JournalRecord => ({
  t: "batch",
  address: "cohorts.a",
  seq,
  destination: "braze",
  cohort_id: "c1",
  add: Array.from({ length: n }, (_, i) => `external_id:user-${seq}-${i}`),
  remove: [],
});

describe("the apply journal on a full disk", () => {
  let disk: { dir: string; unmount: () => void };
  beforeAll(() => {
    disk = CAN_MOUNT ? mountSmallDisk("1m") : { dir: mkdtempSync(join(tmpdir(), "coho-journal-")), unmount: () => undefined };
  });
  afterAll(() => disk.unmount());

  it("never leaves a torn record: a failed append throws a typed ENOSPC error and the file is as before", () => {
    const dir = mkdtempSync(join(disk.dir, "j-"));
    const path = join(dir, "journal.jsonl");
    // Without a real small disk, a short write followed by no progress stands in for ENOSPC.
    let budget = CAN_MOUNT ? Infinity : 30_000;
    const writeChunk = CAN_MOUNT
      ? undefined
      : (fd: number, b: Buffer, o: number, l: number) => {
          const n = Math.min(l, budget);
          budget -= n;
          return n === 0 ? 0 : writeSync(fd, b, o, n);
        };
    const journal = new FileJournal(path, writeChunk ? { writeChunk } : {});
    journal.appendSync(batch(0, 10));
    const before = readFileSync(path);
    const filler = CAN_MOUNT ? fillDisk(disk.dir, 8 * 1024) : undefined;
    let thrown: unknown;
    try {
      journal.appendSync(batch(1, 1000)); // ~30 KB: more than is left
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CohoError);
    expect((thrown as CohoError).code).toBe("state.no_space");
    expect((thrown as CohoError).message).toMatch(/cannot write the apply journal \(.*journal\.jsonl\): no space left on device \(ENOSPC\)/);
    expect(readFileSync(path).equals(before)).toBe(true);
    // Space freed: the same journal appends again, and every record reads back.
    if (filler) rmSync(filler);
    budget = Infinity;
    journal.appendSync(batch(1, 1000));
    journal.appendSync({ t: "ack", address: "cohorts.a", seq: 1 });
    journal.close();
    expect(new FileJournal(path).readSync().map((r) => r.t)).toEqual(["batch", "batch", "ack"]);
  });

  it("treats a torn trailing line as the end of the file and cuts it off before the next append", () => {
    const dir = mkdtempSync(join(disk.dir, "j-"));
    const path = join(dir, "journal.jsonl");
    writeFileSync(path, `${JSON.stringify(batch(0, 2))}\n`);
    appendFileSync(path, JSON.stringify(batch(1, 2)).slice(0, 40)); // a crash mid-write
    const journal = new FileJournal(path);
    expect(journal.readSync()).toHaveLength(1);
    journal.appendSync({ t: "ack", address: "cohorts.a", seq: 0 });
    journal.close();
    // Before the fix the ack landed after the torn line and was never read back.
    expect(journal.readSync().map((r) => r.t)).toEqual(["batch", "ack"]);
    expect(readFileSync(path, "utf8").split("\n").filter((l) => l !== "").every((l) => JSON.parse(l))).toBe(true);
  });
});
