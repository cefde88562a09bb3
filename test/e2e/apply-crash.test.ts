import { describe, expect, it } from "vitest";
import { seededRandom } from "../helpers/random.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { SUITE_CASES, applyProjectFor, brazeByName, cohoVia, ids, isMembershipRequest, journalPending, keysOf, lockHeld, writeMembers } from "../helpers/apply-project.js";
import { killAt, pointName, type KillPoint } from "../helpers/kill-points.js";
import { lockfile, sleep, spawnApply } from "../helpers/spawn-apply.js";

const start = emulators();

/** What Braze holds beyond or short of the desired members, per cohort (vitest abbreviates arrays of thousands). */
function membershipDiff(held: Record<string, string[]>, want: Record<string, string[]>): string {
  return [...new Set([...Object.keys(held), ...Object.keys(want)])].map((name) => {
    const h = new Set(held[name] ?? []);
    const w = new Set(want[name] ?? []);
    const missing = [...w].filter((k) => !h.has(k));
    const ghosts = [...h].filter((k) => !w.has(k));
    return `${name}: ${missing.length} missing ${JSON.stringify(missing.slice(0, 5))}, ${ghosts.length} ghosts ${JSON.stringify(ghosts.slice(0, 5))}`;
  }).join("; ");
}

/**
 * One round per kill point (test/helpers/kill-points.ts says what each point
 * interrupts): every phase of the journal, on every cell, every run. They replace
 * rounds of kills at random moments (20 on the cohort road through the binary, 8
 * elsewhere), which landed in these same phases, most of them in start-up or between
 * requests, and needed many rounds to hit an unanswered request a few times; a
 * random round proved nothing a point here does not, and the points prove more: each
 * in-flight kill must leave a pending journal that the next apply finishes first.
 */
const KILL_POINTS: readonly KillPoint[] = [
  // The first round creates both cohorts: on the cohort road its first request is an upsert.
  { at: "in flight", request: "first" },
  { at: "start-up", ms: 300 },
  { at: "in flight", request: "middle" },
  { at: "after the last answer" },
  { at: "in flight", request: "last" },
];

// The SIGKILL suite runs every cell of the apply matrix (see SUITE_CASES), each through
// every kill point: the backend's journal, lock and fold, the driver's process and the
// road's requests are each their own code under a kill. The attribute road sends 75
// changes a request: a smaller universe of members makes as many requests.
describe.each(SUITE_CASES)("crash safety (%s state, through the %s, %s road)", (backend, driver, road) => {
  const coho = cohoVia(driver);
  const [poolA, poolB] = road === "cohorts" ? [9000, 3000] : [900, 300];

  // A SIGKILL stops the process wherever it is: the library front end adds no code
  // on this path (its signal handling is the SIGINT test's), and it runs the same
  // apply, journal and PostgreSQL state as the binary's PostgreSQL cell.
  if (driver === "binary") it(`after a SIGKILL at each phase of the journal (${KILL_POINTS.map(pointName).join("; ")}), the next apply converges exactly, the desired set changing each round`, async () => {
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 40 });
    const dir = await applyProjectFor(backend, emu, { road });
    const rnd = seededRandom(20261128);
    let planSawIt = false;
    for (const [round, point] of KILL_POINTS.entries()) {
      const a = ids(poolA).filter(() => rnd() < 0.6);
      const b = ids(poolB, 50_000).filter(() => rnd() < 0.5);
      writeMembers(dir, "a", a);
      writeMembers(dir, "b", b);
      const victim = spawnApply(driver, dir, { COHO_CONCURRENCY: "1" });
      await killAt(point, emu, emu.log.total, victim);
      const pending = await journalPending(dir);
      if (point.at === "in flight") expect(pending, `round ${round} (${pointName(point)}): the journal holds the unanswered request`).toBe(true);
      if (pending && !planSawIt) {
        // plan sees the interrupted apply too, and says so.
        const plan = await coho(dir, ["plan"]);
        expect(plan.stdout).toContain("an earlier apply was interrupted");
        planSawIt = true;
      }
      const after = await coho(dir, ["apply", "--auto-approve"]);
      expect(after.code, `round ${round} (${pointName(point)}): ${after.stdout}${after.stderr}`).toBe(0);
      if (point.at === "in flight") expect(after.stderr, `round ${round} (${pointName(point)})`).toContain("Found an interrupted apply");
      const held = await brazeByName(emu, road);
      const want = { Alpha: keysOf(a), Beta: keysOf(b) };
      expect(held, `round ${round} (${pointName(point)}): ${membershipDiff(held, want)}; the next apply printed: ${after.stdout}${after.stderr}`).toEqual(want);
      expect(await lockHeld(dir), `round ${round} (${pointName(point)}): lock left behind`).toBe(false);
    }
    expect(planSawIt).toBe(true);
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code).toBe(0);
  }, 300_000);

  // SIGINT is handled by the front end (the binary's signal handler, the library's
  // AbortSignal), then the acknowledged part is folded as after any stop: each road
  // through the binary on local state, and the library on PostgreSQL. Folding a
  // partial apply into PostgreSQL and Redshift is proven by the SIGKILL rounds above.
  if (backend === "local" || driver === "api") it("on SIGINT stops starting requests, saves what was acknowledged, exits 130; the next apply resumes", async () => {
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
