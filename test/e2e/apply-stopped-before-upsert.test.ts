import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators } from "../helpers/emulator.js";
import { applyProject, brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";

const start = emulators();

/**
 * A cohort's journal record is appended, then its upsert, then the upsert is sent:
 * an apply stopped between the two appends (two cohorts start side by side, so the
 * second can be there while the first's upsert is in flight) leaves a cohort that
 * Braze never created. The next apply must create it, not record it and send its
 * members to a cohort id Braze has never seen (seen under load as a nameless cohort
 * holding Beta's members, and no cohort named Beta).
 */
describe("an apply stopped between a cohort's record and its upsert", () => {
  it("the next apply creates that cohort in Braze instead of sending members to a cohort never created", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(5));
    writeMembers(dir, "b", ids(4, 100));
    // The journal records a first apply writes, taken from the state it leaves.
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, Record<string, unknown>> };
    const entryOf = (address: string) => {
      const { members: _m, snapshot: _s, snapshot_sha256: _h, applied_at: _a, ...entry } = lock.cohorts[address]!;
      return entry;
    };
    const alpha = entryOf("cohorts.alpha");
    const beta = entryOf("cohorts.beta");
    // Back to nothing: an empty Braze, no state, and the journal of an apply killed
    // while alpha's upsert was in flight, after beta's record and before its upsert.
    await fetch(`${emu.url}/_emulator/reset`, { method: "POST" });
    rmSync(join(dir, "coho.lock"));
    rmSync(join(dir, ".coho", "snapshots"), { recursive: true, force: true });
    const records = [
      { t: "cohort", address: "cohorts.alpha", retarget: false, entry: alpha, prior_name: null, prepares: true },
      { t: "upsert", address: "cohorts.alpha", destination: "braze", cohort_id: alpha.cohort_id, name: alpha.name, created_at: "2026-12-07T00:00:00.000Z" },
      { t: "cohort", address: "cohorts.beta", retarget: false, entry: beta, prior_name: null, prepares: true },
    ];
    writeFileSync(join(dir, ".coho", "journal.jsonl"), records.map((r) => `${JSON.stringify(r)}\n`).join(""));

    const next = await coho(dir, ["apply", "--auto-approve"]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toMatch(/\+ cohorts\.beta \(create\)/);
    // Exactly two cohorts, both named; no cohort id without a name.
    expect(await brazeByName(emu)).toEqual({ Alpha: keysOf(ids(5)), Beta: keysOf(ids(4, 100)) });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});
