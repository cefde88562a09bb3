import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators } from "../helpers/emulator.js";
import { applyProject, brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";

const start = emulators();

describe("coho state journal discard: the way out of a journal entry that can never be sent", () => {
  it("is the way out of an entry that can never be sent; requests of unknown fate need --force", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(5));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // An interrupted apply whose journal holds a malformed key (as an older coho could write from an edited plan).
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, Record<string, unknown>> };
    const { members: _m, snapshot: _s, applied_at: _a, ...entry } = lock.cohorts["cohorts.alpha"]!;
    const cohortId = entry.cohort_id as string;
    const batch = (seq: number, add: string[]) => ({ t: "batch", address: "cohorts.alpha", seq, destination: "braze", cohort_id: cohortId, add, remove: [] });
    const records = [
      { t: "cohort", address: "cohorts.alpha", retarget: false, entry, prior_name: entry.name },
      batch(0, ["external_id:u00000"]),
      batch(1, ["not-a-member-key"]),
      batch(2, ["external_id:u00001"]),
    ];
    writeFileSync(join(dir, ".coho", "journal.jsonl"), records.map((r) => `${JSON.stringify(r)}\n`).join(""));

    const wedged = await coho(dir, ["apply", "--auto-approve"]);
    expect(wedged.code).toBe(1);
    expect(wedged.stderr).toContain("could not finish the interrupted apply of cohorts.alpha (journal entry cohorts.alpha#1)");
    expect(wedged.stderr).toContain("coho state journal discard --entry cohorts.alpha#1");

    const listed = await coho(dir, ["state", "journal"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain("cohorts.alpha#1  +1 / −0 members of");
    expect(listed.stdout).toContain("never sent");
    expect(listed.stdout).toContain("which is not a member key: it can never be sent");
    expect(listed.stdout).toMatch(/cohorts\.alpha#2 {2}\+1 \/ −0 members of .*fate unknown/);

    const unknown = await coho(dir, ["state", "journal", "discard", "--entry", "cohorts.alpha#2"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("cohorts.alpha#2 is a request of unknown fate");
    expect(unknown.stderr).toContain("--force");
    const missing = await coho(dir, ["state", "journal", "discard", "--entry", "cohorts.alpha#9"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("pending entries: cohorts.alpha#1, cohorts.alpha#2");

    const discarded = await coho(dir, ["state", "journal", "discard", "--entry", "cohorts.alpha#1"]);
    expect(discarded.code, discarded.stderr).toBe(0);
    expect(discarded.stdout).toContain("Discarded cohorts.alpha#1");

    const finished = await coho(dir, ["apply", "--auto-approve"]);
    expect(finished.code, finished.stderr).toBe(0);
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(5)));
    expect((await coho(dir, ["state", "journal"])).stdout).toContain("The journal has no pending requests.");
  });

  it("discards a request of unknown fate with --force", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(2));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, Record<string, unknown>> };
    const { members: _m, snapshot: _s, applied_at: _a, ...entry } = lock.cohorts["cohorts.alpha"]!;
    const records = [
      { t: "cohort", address: "cohorts.alpha", retarget: false, entry, prior_name: entry.name },
      { t: "batch", address: "cohorts.alpha", seq: 0, destination: "braze", cohort_id: entry.cohort_id, add: ["external_id:zz"], remove: [] },
    ];
    writeFileSync(join(dir, ".coho", "journal.jsonl"), records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    const forced = await coho(dir, ["state", "journal", "discard", "--entry", "cohorts.alpha#0", "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code).toBe(0);
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(2)));
  });
});
