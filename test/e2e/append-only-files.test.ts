import { cpSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { STACK_FRAME } from "../helpers/cli.js";
import { emulators } from "../helpers/emulator.js";
import { applyProject, coho, ids, writeMembers } from "../helpers/apply-project.js";
import { CAN_MOUNT, fillDisk, mountSmallDisk } from "../helpers/small-disk.js";

/**
 * The apply journal and the apply history are append-only JSON lines. Only a torn
 * last line (a crash or a full disk mid-append) is the end of the file; a damaged
 * line with records after it is an error naming the line, never a silent stop
 * that hides the records after it.
 */
const start = emulators();
const mounts: (() => void)[] = [];
afterEach(() => {
  for (const unmount of mounts.splice(0)) unmount();
});

/** An interrupted apply's journal of `n` batches of unknown fate, written as coho writes it. */
function journalOf(dir: string, n: number): string[] {
  const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, Record<string, unknown>> };
  const { members: _m, snapshot: _s, applied_at: _a, ...entry } = lock.cohorts["cohorts.alpha"]!;
  const batch = (seq: number) => ({ t: "batch", address: "cohorts.alpha", seq, destination: "braze", cohort_id: entry.cohort_id, add: [`external_id:late-${seq}`], remove: [] });
  const records = [{ t: "cohort", address: "cohorts.alpha", retarget: false, entry, prior_name: entry.name }, ...Array.from({ length: n }, (_, i) => batch(i))];
  return records.map((r) => JSON.stringify(r));
}

const pendingCount = (stdout: string) => (stdout.match(/^\s*cohorts\.alpha#\d+ /gm) ?? []).length;

describe("the apply journal", () => {
  it("names a damaged line in the middle instead of dropping every record after it; a torn last line is only the end", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(3));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const lines = journalOf(dir, 90);
    const path = join(dir, ".coho", "journal.jsonl");

    writeFileSync(path, lines.join("\n") + "\n");
    const whole = await coho(dir, ["state", "journal"]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(pendingCount(whole.stdout)).toBe(90);

    // Line 60 (batch 58) shortened, its newline kept: 31 records follow it.
    const damaged = [...lines];
    damaged[59] = damaged[59]!.slice(0, 40);
    writeFileSync(path, damaged.join("\n") + "\n");
    for (const command of [["state", "journal"], ["apply", "--auto-approve"]]) {
      const result = await coho(dir, command);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`line 60 of the apply journal (${path}) is damaged (not a complete record), and 31 record(s) follow it`);
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }
    expect(readFileSync(path, "utf8")).toBe(damaged.join("\n") + "\n");

    // A torn last line (no newline, as a crash mid-append leaves it) is the end of the file.
    writeFileSync(path, lines.join("\n") + "\n" + lines[1]!.slice(0, 30));
    const torn = await coho(dir, ["state", "journal"]);
    expect(torn.code, torn.stderr).toBe(0);
    expect(pendingCount(torn.stdout)).toBe(90);
  });
});

describe("the apply history", () => {
  it("names a damaged line in the middle rather than hiding it, and ignores a torn last line", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    for (const n of [2, 3, 4]) {
      writeMembers(dir, "a", ids(n));
      expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    }
    const path = join(dir, ".coho", "history.jsonl");
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    writeFileSync(path, [lines[0], lines[1]!.slice(0, 50), lines[2]].join("\n") + "\n");
    const damaged = await coho(dir, ["history"]);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toContain(`line 2 of the apply history (${path}) is damaged (not a complete record), and 1 record(s) follow it`);
    writeFileSync(path, lines.join("\n") + "\n" + lines[0]!.slice(0, 50));
    const torn = await coho(dir, ["history", "--json"]);
    expect(torn.code, torn.stderr).toBe(0);
    expect(JSON.parse(torn.stdout)).toHaveLength(3);
    // The next append cuts the torn tail rather than gluing its record to it.
    writeMembers(dir, "a", ids(5));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const after = await coho(dir, ["history", "--json"]);
    expect(JSON.parse(after.stdout)).toHaveLength(4);
    expect(readFileSync(path, "utf8").trimEnd().split("\n").every((line) => JSON.parse(line).format === "coho-history")).toBe(true);
  });

  if (CAN_MOUNT) it("after an apply on a full disk, the applies that follow once space is freed are all in the history", async () => {
    const emu = await start();
    const disk = mountSmallDisk("16m");
    mounts.push(disk.unmount);
    const dir = join(disk.dir, "project");
    cpSync(applyProject(emu), dir, { recursive: true });
    writeMembers(dir, "a", ids(2));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const filler = fillDisk(disk.dir, 0);
    writeMembers(dir, "a", ids(3));
    const failed = await coho(dir, ["apply", "--auto-approve"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("ENOSPC");
    // Whatever the full disk left of its history line is a complete record or nothing.
    const path = join(dir, ".coho", "history.jsonl");
    expect(readFileSync(path, "utf8").endsWith("\n")).toBe(true);
    truncateSync(filler, 0);
    for (const n of [4, 5, 6, 7, 8, 9]) {
      writeMembers(dir, "a", ids(n));
      const applied = await coho(dir, ["apply", "--auto-approve"]);
      expect(applied.code, applied.stderr).toBe(0);
    }
    const records = JSON.parse((await coho(dir, ["history", "--json"])).stdout) as { outcome: string }[];
    expect(records.filter((r) => r.outcome !== "error")).toHaveLength(7);
  });
});
