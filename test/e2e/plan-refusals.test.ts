import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";
import { emulators, postJson } from "../helpers/emulator.js";
import { destinationEntry, writeProject } from "../helpers/project.js";

const start = emulators();

const cohortYaml = (key: string, destination: string, model: string, extra = "") =>
  `  ${key}:\n    name: ${key}\n    destination: ${destination}\n    model: ${model}\n    identifier: user_id\n    guards: { max_removals: 100%, allow_empty: true }\n${extra}`;

function project(destinations: string, cohorts: string): Record<string, string> {
  return {
    "coho.yaml": `version: 1
destinations:
${destinations}models:
  a:
    sql: |
      select user_id from read_csv('members_a.csv', columns = {'user_id': 'VARCHAR'})
  b:
    sql: |
      select user_id from read_csv('members_b.csv', columns = {'user_id': 'VARCHAR'})
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
${cohorts}`,
    "members_a.csv": "user_id\n",
    "members_b.csv": "user_id\n",
  };
}

const serial = (dir: string) => (JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number }).serial;

describe("plans that could never apply are refused at plan time", () => {
  it("deleting a cohort together with its destination: located refusal with the fix, no serial bump, Braze untouched", async () => {
    const us = await start();
    const eu = await start();
    const files = project(destinationEntry("us", us.url) + destinationEntry("eu", eu.url), cohortYaml("alpha", "us", "a") + cohortYaml("beta", "eu", "b"));
    const dir = writeProject(files);
    writeMembers(dir, "a", ids(3));
    writeMembers(dir, "b", ids(4));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const before = serial(dir);

    writeFileSync(join(dir, "coho.yaml"), project(destinationEntry("us", us.url), cohortYaml("alpha", "us", "a"))["coho.yaml"]!);
    const plan = await coho(dir, ["plan"]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain("cohorts.beta (in state) is deleted (not in the configuration), but its members must first be removed through destination eu, which is no longer configured; keep destinations.eu in the configuration until this change is applied");
    for (let attempt = 0; attempt < 2; attempt++) {
      const apply = await coho(dir, ["apply", "--auto-approve"]);
      expect(apply.code).toBe(1);
      expect(apply.stdout).toContain("This plan cannot be applied.");
      expect(apply.stderr).not.toContain("internal error");
    }
    expect(serial(dir)).toBe(before);
    expect(await brazeByName(eu)).toEqual({ beta: keysOf(ids(4)) });

    // The documented fix: keep the destination until the delete is applied.
    writeFileSync(join(dir, "coho.yaml"), project(destinationEntry("us", us.url) + destinationEntry("eu", eu.url), cohortYaml("alpha", "us", "a"))["coho.yaml"]!);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(await brazeByName(eu)).toEqual({ beta: [] });
  });

  it("a cohort_id already held in state by another address: located refusal naming the state address", async () => {
    const emu = await start();
    const dir = writeProject(project(destinationEntry("braze", emu.url), cohortYaml("alpha", "braze", "a")));
    writeMembers(dir, "a", ids(2));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number; cohorts: Record<string, { cohort_id: string }> };
    const heldId = lock.cohorts["cohorts.alpha"]!.cohort_id;
    const yaml = readFileSync(join(dir, "coho.yaml"), "utf8") + cohortYaml("gamma", "braze", "b", `    cohort_id: ${heldId}\n`);
    writeFileSync(join(dir, "coho.yaml"), yaml);
    const line = yaml.split("\n").findIndex((l) => l.includes(`cohort_id: ${heldId}`)) + 1;
    for (const command of [["plan"], ["apply", "--auto-approve"]]) {
      const result = await coho(dir, command);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`coho.yaml:${line}:16: cohorts.gamma: cohort_id ${heldId} is already held in state by cohorts.alpha`);
    }
    expect(serial(dir)).toBe(lock.serial);
  });

  it("adopting a Braze cohort: every view says its earlier members are unknown to coho and stay", async () => {
    const emu = await start();
    await postJson(`${emu.url}/partners/coho-emulator/cohorts/users`, {
      partner_api_key: "emulator-partner-key",
      data_import_key: "emulator-data-import-key",
      cohort_id: "legacy-1",
      cohort_changes: [{ user_ids: ["old-member"] }],
    });
    const dir = writeProject(project(destinationEntry("braze", emu.url), cohortYaml("alpha", "braze", "a", "    cohort_id: legacy-1\n")));
    writeMembers(dir, "a", ids(2));
    const views = await Promise.all([coho(dir, ["plan"]), coho(dir, ["plan", "--markdown"]), coho(dir, ["plan", "--json"])]);
    for (const view of views) {
      expect(view.code).toBe(0);
      expect(view.stdout).toContain("cohorts.alpha adopts Braze cohort legacy-1: members the cohort already holds in Braze are unknown to coho");
    }
    expect(JSON.parse(views[2]!.stdout).warnings[0]).toContain("they stay in the cohort until removed");
  });
});
