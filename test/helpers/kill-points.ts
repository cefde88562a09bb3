import { expect } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { isMembershipRequest } from "./apply-project.js";
import { sleep, type spawnApply } from "./spawn-apply.js";

/**
 * Where a SIGKILL lands in an apply started by spawnApply with COHO_CONCURRENCY=1
 * against an emulator started with { faultRate: 1, faultKinds: ["slow"], latencyMs: 40 }:
 * points chosen to cover every phase of an apply's journal (apply/cohort-run.ts:
 * each upsert and batch is journaled before it is sent and acknowledged after; the
 * journal is folded into state at the end):
 * - start-up: loading, planning, taking the lock; nothing journaled or sent;
 * - a request in flight: the emulator answers every request 40 ms late, after it
 *   has applied it, and the killed apply sends one request at a time, so "request k
 *   in flight" is a moment the test sees and hits exactly: Braze holds request k's
 *   change, coho never heard back (its journal holds it with an unknown outcome),
 *   requests before it are acknowledged, the ones after it unsent. The first request
 *   of a new cohort on the cohort road is its upsert (Braze created it, coho never
 *   learned); the middle and the last are counted from the plan the apply printed;
 * - after the last answer: acknowledging it, reading additions back (attribute road),
 *   folding the journal into state (files, PostgreSQL, or the warehouse).
 * Every in-flight kill leaves a pending journal that the next apply must finish first.
 */
export type KillPoint = { readonly at: "start-up"; readonly ms: number } | { readonly at: "in flight"; readonly request: "first" | "middle" | "last" } | { readonly at: "after the last answer" };
export const pointName = (p: KillPoint) => (p.at === "start-up" ? `${p.ms} ms into start-up` : p.at === "in flight" ? `the ${p.request} request in flight` : p.at);

/** Requests that change Braze (upserts and membership changes, not read-backs): what the plan's cost counts. */
const changesBraze = (r: { path: string }) => isMembershipRequest(r) || r.path.endsWith("/cohorts");

/** Waits (a pure timer loop, so it runs before the emulator's 40 ms answer) until `ready` or the apply ended; true if `ready`. */
async function waitFor(ready: () => boolean, running: () => boolean): Promise<boolean> {
  while (!ready()) {
    if (!running()) return false;
    await sleep(5);
  }
  return true;
}

/** The number of requests that change Braze, from the plan the apply printed ("Cost: N requests"). */
function plannedRequests(stdout: string): number | undefined {
  const match = /^Cost: ([\d,]+) requests?/m.exec(stdout);
  return match ? Number(match[1]!.replace(/,/g, "")) : undefined;
}

/** Kills `victim` at `point` of its apply (at an in-flight point, checked to be before the emulator answered). */
export async function killAt(point: KillPoint, emu: RunningEmulator, before: number, victim: ReturnType<typeof spawnApply>): Promise<void> {
  const running = () => victim.child.exitCode === null && victim.child.signalCode === null;
  const sent = () => emu.log.since(before).filter(changesBraze);
  if (point.at === "start-up") await sleep(point.ms);
  else {
    let target = 1;
    if (point.at !== "in flight" || point.request !== "first") {
      expect(await waitFor(() => plannedRequests(victim.stdout()) !== undefined, running), `the apply printed its plan: ${victim.stdout()}${victim.stderr()}`).toBe(true);
      const planned = plannedRequests(victim.stdout())!;
      target = point.at === "in flight" && point.request === "middle" ? Math.ceil(planned / 2) : planned;
    }
    const reached = () => sent().length >= target && (point.at === "in flight" || sent()[target - 1]!.status !== 0);
    expect(await waitFor(reached, running), `the apply reached ${pointName(point)} (request ${target}): ${victim.stdout()}${victim.stderr()}`).toBe(true);
    // Killed before the emulator answered request k (in flight), or after it did.
    expect(sent()[target - 1]!.status, pointName(point)).toSatisfy((status) => (point.at === "in flight" ? status === 0 : status !== 0));
  }
  victim.child.kill("SIGKILL");
  await victim.done;
}

