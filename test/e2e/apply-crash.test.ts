import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../helpers/random.js";
import { COHO_BIN } from "../helpers/cli.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { BACKENDS, BACKEND_ROADS, SECRET_ENV, applyProject, applyProjectFor, brazeByName, coho, ids, isMembershipRequest, journalPending, keysOf, lockHeld, stateUrl, writeMembers } from "../helpers/apply-project.js";

const start = emulators();

/** Starts `coho apply` in the background; resolves its exit once it ends. */
function spawnApply(dir: string, env: Record<string, string> = {}, args: string[] = []) {
  const url = stateUrl(dir);
  const child = spawn(process.execPath, [COHO_BIN, "-C", dir, "apply", "--auto-approve", ...args], {
    env: { PATH: process.env.PATH ?? "", ...SECRET_ENV, NO_COLOR: "1", ...(url ? { COHO_STATE_URL: url } : {}), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lockfile = (dir: string) => JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number; lineage: string; cohorts: Record<string, { members: { count: number } }> };

describe.each(BACKEND_ROADS)("crash safety (%s state, %s road)", (backend, road) => {
  // The attribute road sends 75 changes a request: a smaller universe makes as many requests.
  const [rounds, poolA, poolB] = road === "cohorts" ? [20, 9000, 3000] : [8, 900, 300];
  it(`after SIGKILL at random moments, the next apply converges exactly (${rounds} rounds, the desired set changing each round)`, async () => {
    // Every answer comes 40 ms late, and the killed run sends one request at a time,
    // so kills land before, during and after the membership requests.
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 40 });
    const dir = await applyProjectFor(backend, emu, { road });
    const rnd = seededRandom(20261128);
    let resumed = 0;
    for (let round = 0; round < rounds; round++) {
      const a = ids(poolA).filter(() => rnd() < 0.6);
      const b = ids(poolB, 50_000).filter(() => rnd() < 0.5);
      writeMembers(dir, "a", a);
      writeMembers(dir, "b", b);
      const before = emu.log.total;
      const victim = spawnApply(dir, { COHO_CONCURRENCY: "1" });
      // Kill at a random moment after the run reached Braze (start-up time varies with load;
      // before its first request a kill proves nothing), or after it ended.
      const exited = victim.done.then(() => true);
      while (emu.log.total === before && !(await Promise.race([exited, sleep(10).then(() => false)])));
      await sleep(Math.floor(rnd() * 500));
      victim.child.kill("SIGKILL");
      await victim.done;
      if (resumed === 0 && (await journalPending(dir))) {
        // plan sees the interrupted apply too, and says so.
        const plan = await coho(dir, ["plan"]);
        expect(plan.stdout).toContain("an earlier apply was interrupted");
      }
      const after = await coho(dir, ["apply", "--auto-approve"]);
      expect(after.code, `round ${round}: ${after.stdout}${after.stderr}`).toBe(0);
      if (after.stderr.includes("Found an interrupted apply")) resumed++;
      expect(await brazeByName(emu, road), `round ${round}`).toEqual({ Alpha: keysOf(a), Beta: keysOf(b) });
      expect(await lockHeld(dir), `round ${round}: lock left behind`).toBe(false);
    }
    // The kills really interrupted applies mid-way (not only before or after them).
    expect(resumed).toBeGreaterThanOrEqual(Math.ceil(rounds / 7));
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code).toBe(0);
  }, 300_000);

  it("on SIGINT stops starting requests, saves what was acknowledged, exits 130; the next apply resumes", async () => {
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 100 });
    const dir = await applyProjectFor(backend, emu, { road });
    const size = road === "cohorts" ? 20_000 : 1500;
    writeMembers(dir, "a", ids(size));
    const run = spawnApply(dir, { COHO_CONCURRENCY: "1" });
    for (;;) {
      const sent = (await requestLog(emu)).filter((r) => isMembershipRequest(r) && (r.status === 200 || r.status === 201));
      if (sent.length >= 3) break;
      await sleep(50);
    }
    run.child.kill("SIGINT");
    const result = await run.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("SIGINT: finishing requests in flight and saving state");
    expect(result.stdout).toContain("Apply interrupted.");
    expect(result.stdout).toContain("Run coho apply again to resume.");
    // State holds exactly what Braze acknowledged.
    const held = (await brazeByName(emu, road)).Alpha ?? [];
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThan(size);
    expect(lockfile(dir).cohorts["cohorts.alpha"]!.members.count).toBe(held.length);
    const resumedRun = await coho(dir, ["apply", "--auto-approve"]);
    expect(resumedRun.code).toBe(0);
    expect((await brazeByName(emu, road)).Alpha).toEqual(keysOf(ids(size)));
  }, 120_000);
});

describe.each(BACKENDS)("the state lock (%s state)", (backend) => {
  it("lets one of two concurrent applies proceed; the other fails naming the holder", async () => {
    // Slow answers keep the first apply busy for seconds: longer than a loaded machine takes to start the second.
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 600 });
    const dir = await applyProjectFor(backend, emu);
    writeMembers(dir, "a", ids(5000));
    const first = spawnApply(dir, { COHO_CONCURRENCY: "1" });
    while (!(await lockHeld(dir))) await sleep(20);
    const second = await coho(dir, ["apply", "--auto-approve"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/the state is locked by \S+@\S+ \(apply, pid \d+ on \S+, since .*\); lock id [0-9a-f-]{36}/);
    expect(second.stderr).toContain("coho force-unlock");
    expect((await first.done).code).toBe(0);
    expect(lockfile(dir).serial).toBe(1);
    // With --lock-timeout the second waits, finds nothing to do, and writes nothing.
    writeMembers(dir, "a", ids(5000, 4000));
    const third = spawnApply(dir, { COHO_CONCURRENCY: "1" });
    while (!(await lockHeld(dir))) await sleep(20);
    const fourth = await coho(dir, ["--lock-timeout", "60s", "apply", "--auto-approve"]);
    expect(fourth.stderr).toContain("Waiting for the state lock held by");
    expect(fourth.code).toBe(0);
    expect(fourth.stdout).toContain("No changes.");
    expect((await third.done).code).toBe(0);
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

describe.each(BACKEND_ROADS)("saved plans (%s state, %s road)", (backend, road) => {
  it("apply exactly their deltas when fresh, and are refused with distinct messages when not", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(1500));
    writeMembers(dir, "b", ids(2, 900));
    const planned = await coho(dir, ["plan", "--out", join(dir, "first.plan")]);
    expect(planned.code).toBe(0);
    expect(planned.stderr).toContain(`Saved the plan to ${join(dir, "first.plan")}`);
    const shown = await coho(dir, ["show", join(dir, "first.plan"), "--json"]);
    const plan = JSON.parse(shown.stdout) as { summary: { members_add: number }; state: { serial: number } };
    expect(plan.summary.members_add).toBe(1502);
    // The model changes after planning: the saved plan still sends what was reviewed.
    writeMembers(dir, "b", ids(5, 900));
    const { writeFileSync } = await import("node:fs");
    const applied = await coho(dir, ["apply", join(dir, "first.plan")]);
    expect(applied.code).toBe(0);
    expect((await brazeByName(emu, road)).Beta).toEqual(keysOf(ids(2, 900)));
    const membership = (await requestLog(emu)).filter(isMembershipRequest);
    expect(membership.reduce((n, r) => n + (r.identifiers ?? 0), 0)).toBe(1502);

    const again = await coho(dir, ["apply", join(dir, "first.plan")]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("the state changed since the plan was made (serial 0 then, 1 now)");

    const second = await coho(dir, ["plan", "--out", join(dir, "second.plan")]);
    expect(second.code).toBe(0);
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("name: Beta", "name: Beta two"));
    const changed = await coho(dir, ["apply", join(dir, "second.plan")]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain("the configuration changed since the plan was made");

    const other = await applyProjectFor(backend, emu, { road });
    writeMembers(other, "a", ids(1));
    expect((await coho(other, ["apply", "--auto-approve"])).code).toBe(0);
    const foreign = await coho(other, ["apply", join(dir, "second.plan")]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain("the saved plan was made for another state");
  }, 120_000);

  it("refuses a saved plan that a guard blocked", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road, guards: "    guards: { max_removals: 1 }\n" });
    writeMembers(dir, "a", ids(10));
    await coho(dir, ["apply", "--auto-approve"]);
    writeMembers(dir, "a", ids(3));
    const planned = await coho(dir, ["plan", "--out", join(dir, "blocked.plan")]);
    expect(planned.code).toBe(1);
    const applied = await coho(dir, ["apply", join(dir, "blocked.plan")]);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain("the saved plan is blocked");
  });

  if (road === "cohorts") it("says so, without a stack trace, when the plan file is missing or not a plan", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    const missing = await coho(dir, ["apply", join(dir, "nope.plan")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("plan file not found");
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "garbage.plan"), "not gzip at all");
    const garbage = await coho(dir, ["show", join(dir, "garbage.plan")]);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain("is not a readable coho plan file");
    expect(garbage.stderr).not.toMatch(/\n\s+at /);
  });
});
