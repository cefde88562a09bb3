import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { withoutProgress } from "../helpers/cli.js";
import { describe, expect, it } from "vitest";
import { loadProject } from "../../src/config/load-project.js";
import type { Plan } from "../../src/model/plan.js";
import { buildPlan, type PlanEvent } from "../../src/plan/build-plan.js";
import { openSession } from "../../src/plan/session.js";
import { emulators } from "../helpers/emulator.js";
import { BACKENDS, SECRET_ENV, brazeByName, coho, setProjectEnv, stateUrl, type Backend } from "../helpers/apply-project.js";
import { createDatabase, destinationEntry, writeProject } from "../helpers/project.js";
import { inject } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";

const start = emulators();

/** Three ordinary cohorts over one model (two share its identifier), a set over it, and a cohort over another model. */
function yaml(emu: RunningEmulator, backend: Backend, cohorts: readonly string[]): string {
  const state = backend === "postgres" ? "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n" : "";
  const all: Record<string, string> = {
    first: "    name: First\n    destination: braze\n    model: people\n    identifier: user_id\n    guards: { max_removals: 100% }\n",
    second: "    name: Second\n    destination: braze\n    model: people\n    identifier: user_id\n    guards: { max_removals: 100% }\n",
    by_email: "    name: By email\n    destination: braze\n    model: people\n    identifier: email\n",
    by_tier: '    name: "Tier {key}"\n    destination: braze\n    model: people\n    identifier: user_id\n    for_each: { key: tier }\n    guards: { max_removals: 100% }\n',
    others: "    name: Others\n    destination: braze\n    model: others\n    identifier: user_id\n",
  };
  return `version: 1
${state}destinations:
${destinationEntry("braze", emu.url)}models:
  people:
    sql: |
      select user_id, tier, user_id || '@x.io' AS email from read_csv('people.csv', columns = {'user_id': 'VARCHAR', 'tier': 'VARCHAR'})
  others:
    sql: select 'o1' AS user_id
identifiers:
  user_id: { type: external_id, column: user_id }
  email: { type: alias, column: email, label: email }
cohorts:
${cohorts.map((c) => `  ${c}:\n${all[c]}`).join("")}`;
}

const people = (rows: readonly [string, string][]) => `user_id,tier\n${rows.map((r) => r.join(",")).join("\n")}\n`;

async function project(backend: Backend, emu: RunningEmulator, cohorts: readonly string[]): Promise<string> {
  const dir = writeProject({ "coho.yaml": yaml(emu, backend, cohorts), "people.csv": people([]) });
  if (backend === "postgres") setProjectEnv(dir, { COHO_STATE_URL: await createDatabase(inject("pgUrl"), "state") });
  return dir;
}

/** Plans in-process, recording which models ran and for how many cohorts. */
async function planWithEvents(dir: string): Promise<{ plan: Plan; runs: string[] }> {
  const url = stateUrl(dir);
  const loaded = loadProject(dir, { env: { ...SECRET_ENV, ...(url ? { COHO_STATE_URL: url } : {}) } });
  const session = await openSession(loaded.project!);
  const runs: string[] = [];
  const onEvent = (e: PlanEvent) => {
    if (e.type === "model") runs.push(`${e.model} × ${e.cohorts ?? 1}`);
  };
  try {
    const { plan } = await buildPlan({ ...session, options: { targets: [], allowRemovals: false, showMembers: 5 }, onEvent });
    return { plan, runs: runs.sort() };
  } finally {
    await session.close();
  }
}

describe.each(BACKENDS)("cohorts sharing a model, %s state", (backend) => {
  it("runs each model once for its set and its cohorts of every identifier, diffs them in one pass, and applies exactly", async () => {
    const emu = await start();
    const dir = await project(backend, emu, ["first", "second", "by_email", "by_tier", "others"]);
    writeFileSync(join(dir, "people.csv"), people([["u1", "gold"], ["u2", "gold"], ["u3", "silver"]]));
    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(withoutProgress(first.stderr)).toBe("");
    expect(first.code).toBe(0);

    writeFileSync(join(dir, "people.csv"), people([["u2", "gold"], ["u3", "gold"], ["u4", "silver"]]));
    const { plan, runs } = await planWithEvents(dir);
    // people runs once for the set, first+second (user_id) and by_email (another identifier); others alone.
    expect(runs).toEqual(["others × 1", "people × 4"]);
    const view = Object.fromEntries(plan.cohorts.map((c) => [c.address, [c.members.before, c.members.after, c.samples?.add, c.samples?.remove]]));
    expect(view).toEqual({
      "cohorts.by_email": [3, 3, ["alias:email:u4@x.io"], ["alias:email:u1@x.io"]],
      'cohorts.by_tier["gold"]': [2, 2, ["external_id:u3"], ["external_id:u1"]],
      'cohorts.by_tier["silver"]': [1, 1, ["external_id:u4"], ["external_id:u3"]],
      "cohorts.first": [3, 3, ["external_id:u4"], ["external_id:u1"]],
      "cohorts.others": [1, 1, [], []],
      "cohorts.second": [3, 3, ["external_id:u4"], ["external_id:u1"]],
    });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const braze = await brazeByName(emu);
    expect(braze.First).toEqual(["external_id:u2", "external_id:u3", "external_id:u4"]);
    expect(braze.Second).toEqual(braze.First);
    expect(braze["Tier gold"]).toEqual(["external_id:u2", "external_id:u3"]);
    expect(braze["Tier silver"]).toEqual(["external_id:u4"]);

    // Removing cohorts from the config deletes them together: every member removed.
    writeFileSync(join(dir, "coho.yaml"), yaml(emu, backend, ["by_email", "others"]));
    const deleted = await coho(dir, ["apply", "--auto-approve", "--allow-removals"]);
    expect(deleted.code).toBe(0);
    const after = await brazeByName(emu);
    expect([after.First, after.Second, after["Tier gold"], after["Tier silver"]]).toEqual([[], [], [], []]);
    expect(after["By email"]).toHaveLength(3);
  });
});
