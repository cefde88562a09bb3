import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { emulators, postJson, requestLog, userAttributes } from "../helpers/emulator.js";
import { BACKENDS, applyProjectFor, coho, ids, writeMembers, type Backend } from "../helpers/apply-project.js";

const start = emulators();
const SLOW = 240_000;

/** A workspace where only `existing` have a profile. */
function workspaceWith(existing: readonly string[]): Promise<RunningEmulator> {
  return start({ users: existing.map((id) => ({ externalId: id, aliases: [], deviceIds: [] })) });
}

/** The attribute-road project; `destination` and `alpha` are extra YAML lines for the destination and cohort alpha. */
async function projectFor(backend: Backend, emu: RunningEmulator, destination: string, alpha = ""): Promise<string> {
  const dir = await applyProjectFor(backend, emu, { road: "attributes" });
  const yaml = join(dir, "coho.yaml");
  writeFileSync(yaml, readFileSync(yaml, "utf8")
    .replace("api_key: ${env:BRAZE_REST_API_KEY}", `api_key: \${env:BRAZE_REST_API_KEY}\n${destination}`)
    .replace("    attribute: coho_alpha\n", `    attribute: coho_alpha\n${alpha}`));
  return dir;
}

const signUp = (emu: RunningEmulator, id: string) => postJson(`${emu.url}/_emulator/users/${encodeURIComponent(`external_id:${id}`)}`, { custom_attributes: {} });
const sentKeys = (log: { path: string; attributes?: unknown[] }[]) =>
  log.filter((r) => r.path === "/users/track").flatMap((r) => (r.attributes as Record<string, unknown>[]).map((o) => String(o.external_id))).sort();

interface PlanJson {
  cohorts: { address: string; actions: string[]; members: { add: number; remove: number }; refresh?: { members: number; reason: string; cost: { requests: number; attribute_updates: number } } }[];
}
const alphaOf = (plan: PlanJson) => plan.cohorts.find((c) => c.address === "cohorts.alpha")!;

describe.each(BACKENDS)("refresh: recorded members' additions sent again (%s state)", (backend) => {
  it("--refresh re-sends every recorded member, shown on its own line with cost and reason; profiles created since get the attribute", async () => {
    const emu = await workspaceWith(ids(2));
    // ignore: all 8 are recorded although only 2 have a profile; the plan then says "No changes".
    const dir = await projectFor(backend, emu, "    missing_profiles: ignore");
    writeMembers(dir, "a", ids(8));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    for (const id of ids(2, 2)) await signUp(emu, id);
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
    expect((await userAttributes(emu, "external_id:u00002")).custom_attributes).toEqual({});

    const planned = await coho(dir, ["plan", "--refresh", "--detailed-exitcode"]);
    expect(planned.code, planned.stdout + planned.stderr).toBe(2);
    expect(planned.stdout).toContain("refresh:");
    expect(planned.stdout).toContain("re-sends 8 recorded member(s): 1 request · 8 attribute updates");
    expect(planned.stdout).toContain("--refresh: every recorded member's addition is sent again");
    const json = alphaOf(JSON.parse((await coho(dir, ["plan", "--refresh", "--json"])).stdout) as PlanJson);
    expect(json).toMatchObject({ actions: ["update"], members: { add: 0, remove: 0 }, refresh: { members: 8, cost: { requests: 1, attribute_updates: 8 } } });

    const before = emu.log.total;
    const applied = await coho(dir, ["apply", "--refresh", "--auto-approve"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(sentKeys((await requestLog(emu)).filter((r) => r.seq > before))).toEqual(ids(8));
    // The two who signed up since now hold the attribute; the membership is unchanged.
    expect((await userAttributes(emu, "external_id:u00003")).custom_attributes).toEqual({ coho_alpha: true });
    const after = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toContain("No changes");
  }, SLOW);

  // The clock is not waited out: plan compares now − (when the cohort was last sent
  // whole) with refresh_every, so the test moves refresh_every across the time that
  // has really passed (1h: not due; 1s once more than a second has: due) instead of
  // sleeping through a fixed refresh_every. "Then not again": after the refresh,
  // plan counts from the refresh apply (shown under refresh_every 1ms) and under 1h
  // is not due.
  it("refresh_every: due once its time has passed since the cohort was last sent whole, then not again", async () => {
    const emu = await start();
    const dir = await projectFor(backend, emu, "    missing_profiles: ignore", "    refresh_every: 1h\n");
    const every = (duration: string) => writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace(/refresh_every: \S+/, `refresh_every: ${duration}`));
    const sentWhole = (stdout: string) => /last sent whole (\S+?);/.exec(stdout)?.[1] ?? "";
    writeMembers(dir, "a", ids(5));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const applied = new Date().toISOString();
    // Just applied (sent whole): not due.
    const fresh = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(fresh.code, fresh.stdout).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(applied) + 1100 - Date.now())));
    every("1s");
    const due = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(due.code, due.stdout).toBe(2);
    expect(due.stdout).toMatch(/refresh_every 1s: last sent whole \d{4}-\d\d-\d\dT/);
    expect(due.stdout).toContain("re-sends 5 recorded member(s)");
    const firstSent = sentWhole(due.stdout);
    expect(firstSent < applied, `${firstSent} before ${applied}`).toBe(true);
    const before = emu.log.total;
    const refreshStarted = new Date().toISOString();
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(sentKeys((await requestLog(emu)).filter((r) => r.seq > before))).toEqual(ids(5));
    every("1ms");
    const counted = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(counted.stdout).toMatch(/refresh_every 1ms: last sent whole /);
    expect(sentWhole(counted.stdout) > refreshStarted, `${sentWhole(counted.stdout)} after ${refreshStarted}`).toBe(true);
    every("1h");
    const refreshed = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(refreshed.code, refreshed.stdout).toBe(0);
  }, SLOW);

  it("with missing_profiles: wait, a refreshed member whose profile is gone leaves state and is pending again", async () => {
    const emu = await start();
    const dir = await projectFor(backend, emu, "");
    writeMembers(dir, "a", ids(4));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    await fetch(`${emu.url}/_emulator/users/${encodeURIComponent("external_id:u00001")}`, { method: "DELETE" });
    const applied = JSON.parse((await coho(dir, ["apply", "--refresh", "--auto-approve", "--json"])).stdout) as { totals: { unconfirmed: number } };
    expect(applied.totals.unconfirmed).toBe(1);
    const next = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    expect(alphaOf(next).members).toMatchObject({ add: 1, remove: 0 });
  }, SLOW);
});
