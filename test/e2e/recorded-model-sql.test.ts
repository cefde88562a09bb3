import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { BACKENDS, applyProjectFor, coho, ids, setProjectEnv, writeMembers, type Backend } from "../helpers/apply-project.js";
import { buildWarehouse, dbtHeader, dbtProject, writeManifest } from "../helpers/dbt-project.js";
import { emulators } from "../helpers/emulator.js";
import { createDatabase, destinationEntry } from "../helpers/project.js";

const start = emulators();

interface PlanJson {
  cohorts: { address: string; actions: string[]; reason: string; changed_attributes: string[]; sql_diff?: string; dbt_refs?: { unique_id: string; relation: string | null; previous: { relation: string } | null }[] }[];
}
const cohortOf = (plan: PlanJson, address: string) => plan.cohorts.find((c) => c.address === address)!;

function editSql(dir: string, from: string, to: string): void {
  const path = join(dir, "coho.yaml");
  const text = readFileSync(path, "utf8");
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

describe.each(BACKENDS)("state records what the plan compared (%s state)", (backend: Backend) => {
  it("a model SQL edit that changes no member is recorded: the next diff starts from the new text", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu);
    writeMembers(dir, "a", ids(10));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);

    // Same members, new text.
    editSql(dir, "columns = {'user_id': 'VARCHAR'})\n  b:", "columns = {'user_id': 'VARCHAR'})\n      where user_id is not null\n  b:");
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(2);
    expect(plan.stdout).toContain("model a's SQL changed since the last apply: the new text is recorded");
    expect(plan.stdout).toContain("+where user_id is not null");
    const json = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    expect(cohortOf(json, "cohorts.alpha")).toMatchObject({ actions: ["update"], changed_attributes: ["model_sql"] });
    const before = emu.log.total;
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect(emu.log.total, "recording the text sends nothing to Braze").toBe(before);
    const after = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(after.code, after.stdout).toBe(0);

    // The next edit is diffed against the recorded text, not the first one.
    editSql(dir, "where user_id is not null", "where user_id <> ''");
    const next = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    const diff = cohortOf(next, "cohorts.alpha").sql_diff!;
    expect(diff).toContain("-where user_id is not null");
    expect(diff).toContain("+where user_id <> ''");
  }, 120_000);

  it("ref()/source() nodes are recorded: a relation that moved or a node that changed in the manifest is planned, shown and recorded", async () => {
    const emu = await start();
    const state = backend === "postgres" ? "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n" : "";
    const dir = dbtProject(`${dbtHeader(state)}destinations:
${destinationEntry("braze", emu.url)}models:
  subscribers:
    sql: select user_id from {{ ref('newsletter') }}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  subscribers:
    name: Subscribers
    destination: braze
    model: subscribers
    identifier: user_id
`);
    if (backend === "postgres") setProjectEnv(dir, { COHO_STATE_URL: await createDatabase(inject("pgUrl"), "state") });
    await buildWarehouse(dir, "create view marketing.newsletter_v2 as select * from marketing.newsletter;");
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    // dbt changed the node's file: same relation, same rows, new checksum.
    writeManifest(dir, (m) => (m.nodes["model.marketing.newsletter"].checksum.checksum = "0".repeat(64)));
    const changed = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(changed.code, changed.stdout + changed.stderr).toBe(2);
    expect(changed.stdout).toContain(`model.marketing.newsletter changed: checksum sha256:99accad9`);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    // dbt now builds it under another alias: the relation moved.
    writeManifest(dir, (m) => {
      const node = m.nodes["model.marketing.newsletter"];
      node.checksum.checksum = "0".repeat(64);
      node.alias = "newsletter_v2";
      node.relation_name = '"warehouse"."marketing"."newsletter_v2"';
    });
    const moved = await coho(dir, ["plan", "--json"]);
    const cohort = cohortOf(JSON.parse(moved.stdout) as PlanJson, "cohorts.subscribers");
    expect(cohort.changed_attributes).toEqual(["model_sql", "dbt_refs"]);
    expect(cohort.dbt_refs).toEqual([
      { unique_id: "model.marketing.newsletter", relation: '"marketing"."newsletter_v2"', checksum: `sha256:${"0".repeat(64)}`, previous: { relation: '"marketing"."newsletter"', checksum: `sha256:${"0".repeat(64)}` } },
    ]);
    const human = await coho(dir, ["plan"]);
    expect(human.stdout).toContain('dbt ref:       model.marketing.newsletter moved: "marketing"."newsletter" → "marketing"."newsletter_v2"');
    const before = emu.log.total;
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(emu.log.total).toBe(before);
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  }, 120_000);
});
