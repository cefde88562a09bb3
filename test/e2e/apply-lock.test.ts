import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators } from "../helpers/emulator.js";
import { LOCK_CASES, applyProject, applyProjectFor, cohoVia, ids, lockHeld, writeMembers } from "../helpers/apply-project.js";
import { lockfile, sleep, spawnApply } from "../helpers/spawn-apply.js";

const start = emulators();

/** Braze answers 423 to everything until released: an apply retrying under it holds the state lock as long as needed. */
const setLocked = (emu: { url: string }, locked: boolean) => fetch(`${emu.url}/_emulator/config`, { method: "POST", body: JSON.stringify({ locked }) });
const HOLD = { COHO_CONCURRENCY: "1", COHO_RETRY_BASE_DELAY_MS: "5", COHO_RETRY_MAX_ATTEMPTS: "1000" };

describe.each(LOCK_CASES)("the state lock (%s state, through the %s)", (backend, driver) => {
  const coho = cohoVia(driver);

  it("lets one of two concurrent applies proceed; the other fails naming the holder", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu);
    writeMembers(dir, "a", ids(5000));
    await setLocked(emu, true);
    const first = spawnApply(driver, dir, HOLD);
    while (!(await lockHeld(dir))) await sleep(20);
    const second = await coho(dir, ["apply", "--auto-approve"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/the state is locked by \S+@\S+ \(apply, pid \d+ on \S+, since .*\); lock id [0-9a-f-]{36}/);
    expect(second.stderr).toContain("coho force-unlock");
    await setLocked(emu, false);
    expect((await first.done).code).toBe(0);
    expect(lockfile(dir).serial).toBe(1);
    // With --lock-timeout the second waits, finds nothing to do, and writes nothing.
    writeMembers(dir, "a", ids(5000, 4000));
    await setLocked(emu, true);
    const third = spawnApply(driver, dir, HOLD);
    while (!(await lockHeld(dir))) await sleep(20);
    const fourth = spawnApply(driver, dir, {}, ["--lock-timeout", "60s"]);
    while (!fourth.stderr().includes("Waiting for the state lock held by") && fourth.child.exitCode === null) await sleep(20);
    expect(fourth.stderr()).toContain("Waiting for the state lock held by");
    await setLocked(emu, false);
    expect((await third.done).code).toBe(0);
    const waited = await fourth.done;
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain("No changes.");
    expect(lockfile(dir).serial).toBe(2);
  }, 120_000);

  // Writes a lock file by hand: a local-backend test (the postgres lock is the server's).
  if (backend === "local") it("takes over a lock left by a dead process, and force-unlock needs the exact id", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(3));
    const { mkdirSync, writeFileSync } = await import("node:fs");
    const { hostname } = await import("node:os");
    mkdirSync(join(dir, ".coho"), { recursive: true });
    const dead = { id: "11111111-2222-3333-4444-555555555555", operation: "apply", who: "ghost@here", pid: 2 ** 22 + 12345, host: hostname(), created: "2026-01-01T00:00:00Z", version: "0.0.1" };
    writeFileSync(join(dir, ".coho", "lock.json"), JSON.stringify(dead));
    const result = await coho(dir, ["apply", "--auto-approve"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("took over a lock left by a process that no longer runs: ghost@here");

    const alive = { ...dead, host: "another-host" };
    writeFileSync(join(dir, ".coho", "lock.json"), JSON.stringify(alive));
    const wrong = await coho(dir, ["force-unlock", "not-the-id"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("lock id not-the-id does not match the current lock");
    const right = await coho(dir, ["force-unlock", dead.id]);
    expect(right.code).toBe(0);
    expect(existsSync(join(dir, ".coho", "lock.json"))).toBe(false);
  });
});
