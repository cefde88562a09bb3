import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import type { LockfileDoc } from "../../src/model/state.js";
import { emulator } from "../helpers/emulator.js";
import { BACKENDS, applyProjectFor, brazeByName, coho, ids, keysOf, queryState, stateUrl, writeMembers } from "../helpers/apply-project.js";

describe.each(BACKENDS)("coho state (%s state)", (backend) => {
let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  emu = await emulator();
  dir = await applyProjectFor(backend, emu);
  writeMembers(dir, "a", ids(3));
  writeMembers(dir, "b", ids(2, 10));
  expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
});
afterAll(async () => emu.close());

  it("coho.lock holds each local snapshot file's SHA-256 (PostgreSQL state: none, its snapshots are rows)", () => {
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as LockfileDoc;
    const entries = Object.values(lock.cohorts);
    expect(entries).toHaveLength(2);
    for (const entry of entries) {
      if (stateUrl(dir)) expect(entry.snapshot_sha256).toBeUndefined();
      else expect(entry.snapshot_sha256).toBe(createHash("sha256").update(readFileSync(join(dir, entry.snapshot))).digest("hex"));
    }
  });

  it("lists cohorts with ids and member counts", async () => {
    const result = await coho(dir, ["state", "list"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/cohorts\.alpha\s+coho-alpha-\w+\s+"Alpha"\s+3 members/);
    expect(result.stdout).toMatch(/cohorts\.beta\s+coho-beta-\w+\s+"Beta"\s+2 members/);
  });

  it("shows one cohort without identifiers", async () => {
    const result = await coho(dir, ["state", "show", "cohorts.alpha"]);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: "Alpha", members: { count: 3 } });
    expect(result.stdout).not.toContain("u0000");
    const missing = await coho(dir, ["state", "show", "cohorts.nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cohorts.nope is not in state");
  });

  it("rm forgets a cohort without touching Braze; the next plan creates it anew", async () => {
    const before = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number };
    const requests = emu.log.total;
    const result = await coho(dir, ["state", "rm", "cohorts.beta"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Removed cohorts.beta from state");
    expect(emu.log.total).toBe(requests);
    expect((await brazeByName(emu)).Beta).toEqual(keysOf(ids(2, 10)));
    const after = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number; cohorts: object };
    expect(after.serial).toBe(before.serial + 1);
    expect(Object.keys(after.cohorts)).toEqual(["cohorts.alpha"]);
    const url = stateUrl(dir);
    if (url) {
      expect(await queryState(url, "SELECT count(*)::int AS n FROM coho.snapshot_keys WHERE snapshot LIKE 'pg:coho-beta%'")).toEqual([{ n: 0 }]);
    } else {
      expect(readdirSync(join(dir, ".coho", "snapshots")).some((f) => f.startsWith("coho-beta"))).toBe(false);
      expect(existsSync(join(dir, ".coho", "coho.lock.backup"))).toBe(true);
    }
    const plan = await coho(dir, ["plan"]);
    expect(plan.stdout).toContain("+ cohorts.beta (create)");
  });
});
