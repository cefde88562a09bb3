import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { BACKENDS, coho, ids, setProjectEnv, type Backend } from "../helpers/apply-project.js";
import { emulators, getJson } from "../helpers/emulator.js";
import { createDatabase, destinationEntry, writeProject } from "../helpers/project.js";

const start = emulators();

/**
 * Two cohorts on the attribute road whose changes meet on one attribute: one
 * leaves it (a re-target away, or a swap) while the other joins it, for the same
 * users. The leaving cohort is large (20 requests of 75) and the shared users sort
 * last, so they leave in its last request; the joining cohort is one request. Sent
 * concurrently in any order, the join would land first and the leave would clear it.
 */
async function project(backend: Backend, emu: RunningEmulator, cohorts: string): Promise<string> {
  const state = backend === "postgres" ? "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n" : "";
  const dir = writeProject({
    "coho.yaml": `version: 1
${state}destinations:
${destinationEntry("braze", emu.url, "attributes")}models:
  b:
    sql: "select user_id from read_csv('b.csv', columns = {'user_id': 'VARCHAR'})"
  c:
    sql: "select user_id from read_csv('c.csv', columns = {'user_id': 'VARCHAR'})"
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
${cohorts}`,
    "b.csv": `user_id\n${ids(1500).join("\n")}\n`,
    "c.csv": `user_id\n${ids(50, 1450).join("\n")}\n`,
  });
  if (backend === "postgres") setProjectEnv(dir, { COHO_STATE_URL: await createDatabase(inject("pgUrl"), "state") });
  return dir;
}

const cohort = (name: string, attribute: string) => `  ${name}:
    name: ${name.toUpperCase()}
    destination: braze
    model: ${name}
    identifier: user_id
    attribute: ${attribute}
    guards: { max_removals: 100% }
`;

/** Users whose custom attribute `name` is true, sorted. */
async function holding(emu: RunningEmulator, name: string): Promise<string[]> {
  const { users } = await getJson<{ users: { key: string; custom_attributes: Record<string, unknown> }[] }>(`${emu.url}/_emulator/users`);
  return users.filter((u) => u.custom_attributes[name] === true).map((u) => u.key.replace(/^external_id:/, "")).sort();
}

function edit(dir: string, from: string, to: string): void {
  const path = join(dir, "coho.yaml");
  const text = readFileSync(path, "utf8");
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

/** Applies, then checks that two membership requests were in flight at once (real concurrency) and the next plan is empty. */
async function applyConcurrently(emu: RunningEmulator, dir: string): Promise<void> {
  const before = emu.log.total;
  emu.log.maxInFlight = 0;
  // Three requests in flight at most: the large leave spans several round trips, as it does against Braze's real latency.
  const applied = await coho(dir, ["apply", "--auto-approve"], { COHO_MAX_IN_FLIGHT: "3" });
  expect(applied.code, applied.stdout + applied.stderr).toBe(0);
  const sent = emu.log.since(before).filter((r) => r.path === "/users/track");
  expect(sent.length).toBeGreaterThanOrEqual(21);
  expect(emu.log.maxInFlight, "requests in flight at once").toBeGreaterThan(1);
}

describe.each(BACKENDS)("leaves before joins on one attribute, across cohorts (%s state)", (backend) => {
  it("a cohort re-targeted away from coho_x while a new cohort joins coho_x: the joiners hold coho_x = true", async () => {
    const emu = await start({ responseTimeMs: 15 });
    const dir = await project(backend, emu, cohort("b", "coho_x"));
    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(await holding(emu, "coho_x")).toEqual(ids(1500));

    edit(dir, "attribute: coho_x", "attribute: coho_x2");
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8") + cohort("c", "coho_x"));
    await applyConcurrently(emu, dir);
    expect(await holding(emu, "coho_x2")).toEqual(ids(1500));
    expect(await holding(emu, "coho_x")).toEqual(ids(50, 1450));
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout).toBe(0);
  }, 120_000);

  it("two cohorts swapping attributes: each attribute ends with the other cohort's members", async () => {
    const emu = await start({ responseTimeMs: 15 });
    const dir = await project(backend, emu, cohort("b", "coho_x") + cohort("c", "coho_y"));
    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    edit(dir, "attribute: coho_x", "attribute: coho_swap");
    edit(dir, "attribute: coho_y", "attribute: coho_x");
    edit(dir, "attribute: coho_swap", "attribute: coho_y");
    await applyConcurrently(emu, dir);
    expect(await holding(emu, "coho_y")).toEqual(ids(1500));
    expect(await holding(emu, "coho_x")).toEqual(ids(50, 1450));
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout).toBe(0);
  }, 120_000);
});
