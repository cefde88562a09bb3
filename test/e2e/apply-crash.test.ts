import { describe, expect, it } from "vitest";
import { seededRandom } from "../helpers/random.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { SUITE_CASES, applyProjectFor, brazeByName, cohoVia, ids, isMembershipRequest, journalPending, keysOf, lockHeld, writeMembers } from "../helpers/apply-project.js";
import { lockfile, sleep, spawnApply } from "../helpers/spawn-apply.js";

const start = emulators();

// The binary runs 20 kill rounds on the cohort road; the library front end (a child
// process too: a SIGKILL needs one) and the attribute road 8, enough to interrupt an
// apply mid-way more than once. The attribute road sends 75 changes a request: a
// smaller universe of members makes as many requests.
describe.each(SUITE_CASES)("crash safety (%s state, through the %s, %s road)", (backend, driver, road) => {
  const coho = cohoVia(driver);
  const rounds = driver === "binary" && road === "cohorts" && backend !== "redshift" ? 20 : 8;
  const [poolA, poolB] = road === "cohorts" ? [9000, 3000] : [900, 300];

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
      const victim = spawnApply(driver, dir, { COHO_CONCURRENCY: "1" });
      // Half the kills land at any moment from start-up on; the other half once
      // requests flow, so that on a loaded machine some still hit an apply mid-way.
      if (rnd() < 0.5) await sleep(Math.floor(rnd() * 1500));
      else {
        const deadline = Date.now() + 20_000;
        while (emu.log.total === before && Date.now() < deadline) await sleep(10);
        await sleep(Math.floor(rnd() * 400));
      }
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
    expect(resumed).toBeGreaterThanOrEqual(rounds === 20 ? 3 : 2);
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code).toBe(0);
  }, 300_000);

  it("on SIGINT stops starting requests, saves what was acknowledged, exits 130; the next apply resumes", async () => {
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 100 });
    const dir = await applyProjectFor(backend, emu, { road });
    const size = road === "cohorts" ? 20_000 : 1500;
    writeMembers(dir, "a", ids(size));
    const run = spawnApply(driver, dir, { COHO_CONCURRENCY: "1" });
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
