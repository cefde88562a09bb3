import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";
import { emulators } from "../helpers/emulator.js";
import { destinationEntry, writeProject } from "../helpers/project.js";

const start = emulators();

describe("re-targeting a cohort to another destination", () => {
  it("removes every member from the old workspace's cohort and adds every member in the new one", async () => {
    const us = await start();
    const eu = await start();
    const dir = writeProject({
      "coho.yaml": `version: 1
destinations:
${destinationEntry("us", us.url)}${destinationEntry("eu", eu.url)}models:
  a:
    sql: |
      select user_id from read_csv('members_a.csv', columns = {'user_id': 'VARCHAR'})
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  alpha:
    name: Alpha
    destination: us
    model: a
    identifier: user_id
    guards: { max_removals: 100% }
`,
      "members_a.csv": "user_id\n",
    });
    writeMembers(dir, "a", ids(1500));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(await brazeByName(us)).toEqual({ Alpha: keysOf(ids(1500)) });

    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("destination: us", "destination: eu"));
    writeMembers(dir, "a", ids(1400, 50));
    const plan = await coho(dir, ["plan"]);
    expect(plan.stdout).toContain("destination:   us → eu");
    expect(plan.stdout).toContain("1,500 → 1,400  (+1,400 / −1,500)");
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(await brazeByName(us)).toEqual({ Alpha: [] });
    expect(await brazeByName(eu)).toEqual({ Alpha: keysOf(ids(1400, 50)) });
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, { destination: string; members: { count: number } }> };
    expect(lock.cohorts["cohorts.alpha"]).toMatchObject({ destination: "eu", members: { count: 1400 } });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});
