import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { STACK_FRAME } from "../helpers/cli.js";
import { buildWarehouse, dbtHeader, dbtProject, useManifest, writeManifest } from "../helpers/dbt-project.js";
import { emulators } from "../helpers/emulator.js";
import { SECRET_ENV, brazeByName, coho, keysOf } from "../helpers/apply-project.js";
import { EXAMPLES } from "../helpers/fixtures.js";
import { freePort } from "../helpers/postgres-cluster.js";
import { destinationEntry } from "../helpers/project.js";

const start = emulators();

/** Two cohorts on dbt models (one by `dbt:`, one by ref() in SQL) aimed at `emu`. */
async function project(emu: RunningEmulator, extraSql = ""): Promise<string> {
  const dir = dbtProject(`${dbtHeader("  owner: { name: Growth team }\n")}destinations:
${destinationEntry("braze", emu.url)}models:
  vip:
    primary_key: user_id
    dbt: users_vip
  subscribers:
    sql: select user_id from {{ ref('newsletter') }}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  vip:
    name: VIP
    destination: braze
    model: vip
    identifier: user_id
  subscribers:
    name: Subscribers
    destination: braze
    model: subscribers
    identifier: user_id
`);
  await buildWarehouse(dir, extraSql);
  return dir;
}

type Lock = { cohorts: Record<string, { cohort_id: string; model: { sql: string; dbt?: { unique_id: string; checksum: string; compiled_code?: string } } }> };
const lockfile = (dir: string) => JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as Lock;
const manifestChecksum = (fixture: string) =>
  `sha256:${(JSON.parse(readFileSync(join(EXAMPLES, "..", "test", "fixtures", "dbt", fixture), "utf8")) as any).nodes["model.shop.users_vip"].checksum.checksum}`;

describe("cohorts on dbt models, against the emulator", () => {
  it("applies dbt models, records unique_id and checksum, and shows a changed dbt model in the plan", async () => {
    const emu = await start();
    const dir = await project(emu);
    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('dbt model:     model.shop.users_vip as "main"."users_vip"');
    const vipKeys = keysOf(["u-001", "u-002", "u-004", "u-006", "u-008"]);
    expect(await brazeByName(emu)).toEqual({ VIP: vipKeys, Subscribers: keysOf(["u-001", "u-002", "u-004", "u-005", "u-007"]) });
    const applied = lockfile(dir).cohorts["cohorts.vip"]!;
    expect(applied.model.dbt).toEqual({
      unique_id: "model.shop.users_vip",
      checksum: manifestChecksum("manifest-v12.json"),
      compiled_code: 'select user_id, email from "warehouse"."raw"."customers" where lifetime_value >= 1000',
    });
    // Only `dbt:` models are followed by unique_id; ref() in SQL is tracked by the SQL itself.
    expect(lockfile(dir).cohorts["cohorts.subscribers"]!.model.dbt).toBeUndefined();

    // dbt recompiled the model: new checksum and compiled SQL, same relation and rows.
    useManifest(dir, "manifest-v12-changed.json");
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toContain(`dbt model changed: checksum ${manifestChecksum("manifest-v12.json")} → ${manifestChecksum("manifest-v12-changed.json")}`);
    expect(plan.stdout).toContain("dbt compiled sql:");
    expect(plan.stdout).toContain('-select user_id, email from "warehouse"."raw"."customers" where lifetime_value >= 1000');
    expect(plan.stdout).toContain('+select user_id, email from "warehouse"."raw"."customers" where lifetime_value >= 500');
    expect(plan.stdout).toContain("~ cohorts.vip (update)");
    const json = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as { cohorts: { address: string; changed_attributes: string[]; dbt?: { previous?: { checksum: string } } }[] };
    const vip = json.cohorts.find((c) => c.address === "cohorts.vip")!;
    expect(vip.changed_attributes).toEqual(["dbt_model"]);
    expect(vip.dbt?.previous?.checksum).toBe(manifestChecksum("manifest-v12.json"));
    const markdown = await coho(dir, ["plan", "--markdown"]);
    expect(markdown.stdout).toContain("dbt model changed: checksum");

    // Apply records the new checksum without a membership request; then nothing is left to do.
    const before = emu.log.total;
    const second = await coho(dir, ["apply", "--auto-approve"]);
    expect(second.code, second.stderr).toBe(0);
    expect(emu.log.total).toBe(before);
    expect(lockfile(dir).cohorts["cohorts.vip"]!.model.dbt?.checksum).toBe(manifestChecksum("manifest-v12-changed.json"));
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });

  it("follows a dbt model built under a new name (same unique_id) with an update, never a destroy", async () => {
    const emu = await start();
    const dir = await project(emu, "create table main.vip_users as select * from main.users_vip where user_id <> 'u-008';");
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const cohortId = lockfile(dir).cohorts["cohorts.vip"]!.cohort_id;

    useManifest(dir, "manifest-v12-renamed.json");
    const plan = await coho(dir, ["plan", "--json"]);
    expect(plan.code, plan.stderr).toBe(0);
    const vip = (JSON.parse(plan.stdout) as { cohorts: { address: string; actions: string[]; reason: string; sql_diff?: string; after: { cohort_id: string } }[] }).cohorts.find((c) => c.address === "cohorts.vip")!;
    expect(vip.actions).toEqual(["update"]);
    expect(vip.after.cohort_id).toBe(cohortId);
    expect(vip.reason).toContain('dbt model model.shop.users_vip is now built as "main"."vip_users"');
    expect(vip.sql_diff).toContain('-select * from "main"."users_vip"');
    expect(vip.sql_diff).toContain('+select * from "main"."vip_users"');

    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("Plan: 0 to create, 1 to update, 0 to delete");
    expect(lockfile(dir).cohorts["cohorts.vip"]!.cohort_id).toBe(cohortId);
    expect((await brazeByName(emu)).VIP).toEqual(keysOf(["u-001", "u-002", "u-004", "u-006"]));
  });

  it("refuses at plan time a dbt relation the source does not hold, naming it at the YAML", async () => {
    const emu = await start();
    const dir = await project(emu);
    useManifest(dir, "manifest-v12-renamed.json");
    const validate = await coho(dir, ["validate"]);
    expect(validate.code).toBe(0); // offline: the manifest is fine
    const plan = await coho(dir, ["plan"]);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(/coho\.yaml:\d+:10: error: models\.vip: dbt model model\.shop\.users_vip is built as "main"\."vip_users", which source warehouse cannot read/);
    expect(plan.stderr).toContain("[dbt.relation_missing]");
    expect(plan.stderr).not.toMatch(STACK_FRAME);
    expect(existsSync(join(dir, "coho.lock"))).toBe(false);
  });

  it("writes dbt exposures, and never overwrites a hand-written file without --force", async () => {
    const emu = await start();
    const dir = await project(emu);
    const printed = await coho(dir, ["dbt", "exposures"]);
    expect(printed.code, printed.stderr).toBe(0);
    for (const secret of Object.values(SECRET_ENV)) expect(printed.stdout + printed.stderr).not.toContain(secret);
    const doc = parse(printed.stdout) as { version: number; exposures: Record<string, unknown>[] };
    expect(doc.version).toBe(2);
    expect(doc.exposures).toEqual([
      {
        name: "coho_subscribers",
        label: "Subscribers",
        type: "application",
        description: 'Braze cohort "Subscribers" (cohorts.subscribers), kept in step with coho model subscribers; destination braze.',
        depends_on: ["ref('marketing', 'newsletter')"],
        owner: { name: "Growth team" },
      },
      {
        name: "coho_vip",
        label: "VIP",
        type: "application",
        description: 'Braze cohort "VIP" (cohorts.vip), kept in step with coho model vip; destination braze.',
        depends_on: ["ref('users_vip')"],
        owner: { name: "Growth team" },
      },
    ]);
    // dbt's exposure shape: snake_case names, a known type, owner name/email only, ref()/source() entries.
    for (const exposure of doc.exposures) {
      expect(exposure.name).toMatch(/^[A-Za-z0-9_]+$/);
      expect(["dashboard", "notebook", "analysis", "ml", "application"]).toContain(exposure.type);
      expect(Object.keys(exposure.owner as object).every((k) => k === "name" || k === "email")).toBe(true);
      for (const entry of exposure.depends_on as string[]) expect(entry).toMatch(/^(ref\('[^']+'(, '[^']+')?\)|source\('[^']+', '[^']+'\))$/);
    }

    const out = join(dir, "exposures.yml");
    writeFileSync(out, "version: 2\nexposures: []  # ours\n");
    const refused = await coho(dir, ["dbt", "exposures", "--out", out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("exposures.yml exists and was not written by coho; it is left untouched");
    expect(readFileSync(out, "utf8")).toBe("version: 2\nexposures: []  # ours\n");
    const forced = await coho(dir, ["dbt", "exposures", "--out", out, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain("Wrote 2 exposure(s)");
    expect(readFileSync(out, "utf8")).toBe(printed.stdout);
    // coho's own file is regenerated without --force.
    expect((await coho(dir, ["dbt", "exposures", "--out", out])).code).toBe(0);
  });

  it("escapes Jinja in cohort names, so dbt shows the name instead of running it", async () => {
    const emu = await start();
    const dir = await project(emu);
    const config = join(dir, "coho.yaml");
    writeFileSync(config, readFileSync(config, "utf8").replace("name: VIP", `name: "VIP {{ env_var('DBT_ENV_SECRET_X') }} {%- if true %} {# c #}"`));
    const printed = await coho(dir, ["dbt", "exposures"]);
    expect(printed.code, printed.stderr).toBe(0);
    const vip = (parse(printed.stdout) as { exposures: { name: string; label: string; description: string }[] }).exposures.find((e) => e.name === "coho_vip")!;
    // Each opening delimiter is printed by a Jinja string expression: rendered, it reads as written.
    expect(vip.label).toBe("VIP {{ '{{' }} env_var('DBT_ENV_SECRET_X') }} {{ '{%' }}- if true %} {{ '{#' }} c #}");
    expect(vip.description).toContain("Braze cohort \"VIP {{ '{{' }} env_var(");
    expect(printed.stdout).not.toMatch(/\{\{ env_var|\{%- if|\{# c/);
  });

  it("warns, located at dbt:, when the manifest was built for another adapter than the named source's engine", async () => {
    const yaml = `${dbtHeader()}models:\n  vip: { dbt: users_vip }\n`;
    const dir = dbtProject(yaml, null);
    writeManifest(dir, (m) => (m.metadata.adapter_type = "snowflake"));
    const result = await coho(dir, ["validate", "--json"]);
    expect(result.code, result.stdout).toBe(0);
    const report = JSON.parse(result.stdout) as { diagnostics: { code: string; severity: string; message: string; line: number }[] };
    expect(report.diagnostics.filter((d) => d.code === "dbt.adapter_mismatch")).toEqual([
      expect.objectContaining({ severity: "warning", line: 2, message: expect.stringContaining("built with the snowflake adapter, but source warehouse is duckdb") }),
    ]);
    writeManifest(dir, (m) => (m.metadata.adapter_type = "duckdb"));
    const matching = JSON.parse((await coho(dir, ["validate", "--json"])).stdout) as { diagnostics: { code: string }[] };
    expect(matching.diagnostics.map((d) => d.code)).not.toContain("dbt.adapter_mismatch");
  });

  it("coho validate checks dbt references offline, each error located", async () => {
    const dir = dbtProject(`${dbtHeader()}models:\n  vip: { dbt: users_vipp }\n  gone:\n    sql: select * from {{ ref('churned_users') }}\n`);
    const result = await coho(dir, ["validate", "--json"]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { diagnostics: { code: string; message: string; file: string; line: number; column: number }[] };
    expect(report.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([
      ["dbt.model_not_found", 8, 15],
      ["dbt.model_disabled", 10, 24],
    ]);
    expect(report.diagnostics[0]!.message).toContain("did you mean `users_vip`?");
    expect(report.diagnostics.every((d) => d.file.endsWith("coho.yaml"))).toBe(true);
  });

  it("needs an owner for exposures, located at the dbt setting", async () => {
    const dir = dbtProject(`${dbtHeader()}models:\n  vip: { dbt: users_vip }\n`);
    const result = await coho(dir, ["dbt", "exposures"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("coho.yaml:2:1: error: dbt exposures need an owner (a name or an email): set `dbt.owner` in coho.yaml [dbt.owner_missing]");
  });
});

describe("examples/dbt (node examples/dbt/run.mjs)", () => {
  const example = join(EXAMPLES, "dbt");
  afterAll(() => {
    for (const file of ["coho.lock", ".coho", "warehouse.duckdb", "warehouse.duckdb.wal"]) rmSync(join(example, file), { recursive: true, force: true });
  });

  it("builds the warehouse, plans and applies against the emulator, writes exposures, then finds nothing to do", async () => {
    const { spawn } = await import("node:child_process");
    const port = await freePort();
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [join(example, "run.mjs"), ...args], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", COHO_EMULATOR_PORT: String(port) } });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        child.on("close", (code) => resolve({ code, out }));
      });
    const exposuresFile = join(example, "dbt_project", "models", "coho_exposures.yml");
    const committed = readFileSync(exposuresFile, "utf8");
    const first = await run(["--reset"]);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain("The configuration is valid.");
    expect(first.out).toContain("Plan: 3 to create, 0 to update, 0 to delete, 0 to move. Members: +12 / −0.");
    expect(first.out).toContain("Apply complete!");
    expect(first.out).toContain("Wrote 3 exposure(s)");
    expect(first.out).toMatch(/VIP customers \(coho-vip-customers-\w+\): 5 members/);
    // The committed exposures file is exactly what the example generates.
    expect(readFileSync(exposuresFile, "utf8")).toBe(committed);
    const second = await run([]);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain("No changes. Braze cohorts match the configuration.");
  });
});
