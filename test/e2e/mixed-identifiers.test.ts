import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import pg from "pg";
import { BACKENDS, brazeByName, coho, setProjectEnv, type Backend } from "../helpers/apply-project.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { createDatabase, destinationEntry, writeProject } from "../helpers/project.js";
import { STACK_FRAME } from "../helpers/cli.js";

const start = emulators();

/** people.csv: uid, email, device; the first non-null names the user. */
const PEOPLE = [
  ["u1", "a@x.io", "d1"], // uid
  ["u2", "", ""], // uid
  ["", "b@x.io", "d2"], // email
  ["", "c@x.io", ""], // email
  ["", "", "d3"], // device
  ["", "", "d4"], // device
  ["", "", ""], // no identifier: rejected as null
];

async function project(backend: Backend, emu: RunningEmulator, destination: "cohorts" | "attributes" = "cohorts"): Promise<string> {
  const state = backend === "postgres" ? "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n" : "";
  const dir = writeProject({
    "coho.yaml": `version: 1
${state}destinations:
${destinationEntry("braze", emu.url, destination)}models:
  people:
    sql: "select nullif(uid, '') as uid, nullif(email, '') as email, nullif(device, '') as device from read_csv('people.csv', all_varchar = true)"
identifiers:
  uid: { type: external_id, column: uid }
  email: { type: alias, label: email, column: email }
  device: { type: device_id, column: device }
cohorts:
  everyone:
    name: Everyone
    destination: braze
    model: people
    identifier: [uid, email, device]
${destination === "attributes" ? "    attribute: coho_everyone\n" : ""}    guards: { max_removals: 100% }
`,
    "people.csv": `uid,email,device\n${PEOPLE.map((r) => r.join(",")).join("\n")}\n`,
  });
  if (backend === "postgres") setProjectEnv(dir, { COHO_STATE_URL: await createDatabase(inject("pgUrl"), "state") });
  return dir;
}

interface PlanJson {
  cohorts: { address: string; rows: number; members: { add: number; remove: number }; rejected: Record<string, number>; members_by_identifier?: Record<string, number> }[];
}

describe.each(BACKENDS)("a list of identifiers: the first non-null per row (%s state)", (backend) => {
  it("sends external ids, aliases and device ids of one cohort through Cohort Import, counts them per identifier, records them", async () => {
    const emu = await start();
    const dir = await project(backend, emu);
    const plan = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    expect(plan.cohorts[0]).toMatchObject({ rows: 7, members: { add: 6, remove: 0 }, members_by_identifier: { uid: 2, email: 2, device: 2 } });
    expect(plan.cohorts[0]!.rejected.null).toBe(1);
    const human = await coho(dir, ["plan"]);
    expect(human.stdout).toContain("identifiers:   uid 2, email 2, device 2");

    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    const { cohorts } = (await (await fetch(`${emu.url}/_emulator/cohorts`)).json()) as { cohorts: { cohort_id: string }[] };
    const members = (await (await fetch(`${emu.url}/_emulator/cohorts/${encodeURIComponent(cohorts[0]!.cohort_id)}/members`)).json()) as { members: string[] };
    expect([...members.members].sort()).toEqual(["alias:email:b@x.io", "alias:email:c@x.io", "device_id:d3", "device_id:d4", "external_id:u1", "external_id:u2"]);
    // One request carried all three kinds.
    const sent = (await requestLog(emu)).filter((r) => r.path.endsWith("/cohorts/users"));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.cohort_changes).toEqual([
      { user_ids: ["u1", "u2"], aliases: [{ alias_name: "b@x.io", alias_label: "email" }, { alias_name: "c@x.io", alias_label: "email" }], device_ids: ["d3", "d4"] },
    ]);
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    // u2 gets no uid any more but an email: it leaves as external_id:u2 and joins as its alias.
    writeFileSync(join(dir, "people.csv"), readFileSync(join(dir, "people.csv"), "utf8").replace("u2,,", ",e@x.io,"));
    const next = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    expect(next.cohorts[0]).toMatchObject({ members: { add: 1, remove: 1 }, members_by_identifier: { uid: 1, email: 3, device: 2 } });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  }, 120_000);
});

describe("a list of identifiers on the attribute road", () => {
  it("is refused when it holds a device_id, naming file, line and column", async () => {
    const emu = await start();
    const dir = await project("local", emu, "attributes");
    const result = await coho(dir, ["validate"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: cohorts\.everyone: identifier device is a device_id, which \/users\/track cannot address/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("is refused when two identifiers name users the same way", async () => {
    const emu = await start();
    const dir = await project("local", emu);
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("  device: { type: device_id, column: device }", "  device: { type: device_id, column: device }\n  uid2: { type: external_id, column: email }").replace("[uid, email, device]", "[uid, uid2]"));
    const result = await coho(dir, ["validate"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: identifiers uid and uid2 both name users by external_id/);
  });
});

describe("a list of identifiers from PostgreSQL, alone and in a cohort set", () => {
  it("takes the first non-null per row on both extraction paths", async () => {
    const emu = await start();
    const pgUrl = await createDatabase(inject("pgUrl"), "mixed");
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query("CREATE TABLE people (uid text, email text, device text, team text)");
    await client.query(`INSERT INTO people VALUES ('u1', 'a@x.io', NULL, 'red'), (NULL, 'b@x.io', 'd2', 'red'), (NULL, NULL, 'd3', 'blue'), (NULL, NULL, NULL, 'blue')`);
    await client.end();
    const dir = writeProject({
      "coho.yaml": `version: 1
sources:
  pg:
    type: postgres
    url: \${env:PG_URL}
destinations:
${destinationEntry("braze", emu.url)}models:
  people:
    sql: select uid, email, device, team from people
identifiers:
  uid: { type: external_id, column: uid }
  email: { type: alias, label: email, column: email }
  device: { type: device_id, column: device }
cohorts:
  everyone:
    name: Everyone
    destination: braze
    model: people
    identifier: [uid, email, device]
  by_team:
    name: "Team {key}"
    destination: braze
    model: people
    identifier: [uid, email, device]
    for_each: { key: team }
`,
    });
    setProjectEnv(dir, { PG_URL: pgUrl });
    const planned = await coho(dir, ["plan", "--json"]);
    expect(planned.code, planned.stdout + planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as PlanJson;
    const byAddress = Object.fromEntries(plan.cohorts.map((c) => [c.address, c]));
    expect(byAddress["cohorts.everyone"]).toMatchObject({ members: { add: 3 }, members_by_identifier: { uid: 1, email: 1, device: 1 } });
    expect(byAddress['cohorts.by_team["red"]']).toMatchObject({ members: { add: 2 }, members_by_identifier: { uid: 1, email: 1, device: 0 } });
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    const byName = Object.fromEntries(Object.entries(await brazeByName(emu)).map(([name, keys]) => [name, [...keys].sort()]));
    expect(byName).toEqual({
      Everyone: ["alias:email:b@x.io", "device_id:d3", "external_id:u1"],
      "Team red": ["alias:email:b@x.io", "external_id:u1"],
      "Team blue": ["device_id:d3"],
    });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  }, 120_000);
});
