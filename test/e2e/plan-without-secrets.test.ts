import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useManifest } from "../helpers/dbt-project.js";
import { OFFLINE_SECRETS } from "../../src/config/interpolate-document.js";
import { loadProject } from "../../src/config/load-project.js";
import { runCli } from "../helpers/cli.js";
import { emulators } from "../helpers/emulator.js";
import { applyProjectFor, coho, ids, writeMembers } from "../helpers/apply-project.js";
import { writeProject } from "../helpers/project.js";

const start = emulators();
/** The CLI without Braze keys in its environment (as a fork pull request runs). */
const withoutKeys = (dir: string, args: string[], env: Record<string, string> = {}) =>
  runCli(["-C", dir, ...args], { env: { NO_COLOR: "1", ...env } });

describe("validate and plan without destination secrets", () => {
  it("validate and plan warn about unset Braze keys and succeed; apply refuses before sending anything", async () => {
    const emu = await start();
    const dir = await applyProjectFor("local", emu);
    writeMembers(dir, "a", ids(3));
    const validate = await withoutKeys(dir, ["validate"]);
    expect(validate.code).toBe(0);
    expect(validate.stderr).toMatch(/coho\.yaml:\d+:\d+: warning: environment variable BRAZE_PARTNER_API_KEY is not set \(needed by destinations\.braze\.partner_api_key\): fine for validate and plan/);
    expect(validate.stderr).toContain("BRAZE_DATA_IMPORT_KEY is not set");
    const json = JSON.parse((await withoutKeys(dir, ["validate", "--json"])).stdout) as { valid: boolean; warning_count: number };
    expect(json).toMatchObject({ valid: true, warning_count: 2 });

    const plan = await withoutKeys(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain("+ cohorts.alpha (create)");

    const apply = await withoutKeys(dir, ["apply", "--auto-approve"]);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain("error: environment variable BRAZE_PARTNER_API_KEY is not set (needed by destinations.braze.partner_api_key)");
    expect(emu.log.total).toBe(0);
  });

  it("read-only commands need no Braze key and say nothing of it; validate under GitHub Actions annotates no withheld key", async () => {
    const emu = await start();
    const dir = await applyProjectFor("local", emu);
    writeMembers(dir, "a", ids(3));
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code, applied.stderr).toBe(0);
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("version: 1\n", "version: 1\ndbt: { manifest: target/manifest.json, owner: { name: Growth } }\n"));
    useManifest(dir, "manifest-v12.json");
    const before = emu.log.total;
    for (const command of [["state", "list"], ["state", "show", "cohorts.alpha"], ["history"], ["show"], ["state", "journal"], ["dbt", "exposures"]]) {
      const result = await withoutKeys(dir, command);
      expect(result.code, `${command.join(" ")}: ${result.stderr}`).toBe(0);
      expect(result.stderr, command.join(" ")).not.toContain("BRAZE_");
    }
    expect(emu.log.total).toBe(before);
    const annotated = await withoutKeys(dir, ["validate"], { GITHUB_ACTIONS: "true" });
    expect(annotated.code).toBe(0);
    expect(annotated.stderr).toContain("BRAZE_PARTNER_API_KEY is not set");
    expect(annotated.stderr).not.toContain("::warning");
  });

  it("a missing non-secret variable without a default stays an error", () => {
    const dir = writeProject({
      "coho.yaml": `version: 1
destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: https://rest.iad-01.braze.com
    partner: \${env:BRAZE_PARTNER}
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
`,
    });
    const result = loadProject(dir, { env: {}, secrets: OFFLINE_SECRETS });
    expect(result.project).toBeUndefined();
    const errors = result.diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => d.location?.line)).toEqual(errors.map(() => 6));
    expect(errors.find((d) => d.code === "config.env_missing")?.message).toContain("environment variable BRAZE_PARTNER is not set");
    expect(result.diagnostics.filter((d) => d.severity === "warning").map((d) => d.code)).toEqual(["config.secret_unset", "config.secret_unset"]);
  });

  it("without the state URL, plan reads the committed coho.lock: net counts, a warning, no --out", async () => {
    const emu = await start();
    const dir = await applyProjectFor("postgres", emu);
    writeMembers(dir, "a", ids(5));
    writeMembers(dir, "b", ids(2, 10));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // Two members swapped for two others, and one more: the net change is +1.
    writeMembers(dir, "a", [...ids(3), "n1", "n2", "n3"]);
    const plan = await withoutKeys(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain("warning: environment variable COHO_STATE_URL is not set (needed by state.url): planning from the committed coho.lock");
    expect(plan.stdout).toContain("the state database URL (COHO_STATE_URL) is not set: this plan reads the committed coho.lock (serial 1)");
    expect(plan.stdout).toContain("5 → 6  (+1 / −0)");
    const full = await coho(dir, ["plan"]);
    expect(full.stdout).toContain("5 → 6  (+3 / −2)");

    const saved = await withoutKeys(dir, ["plan", "--out", "plan.coho"]);
    expect(saved.code).toBe(1);
    expect(saved.stderr).toContain("cannot save a plan made without member snapshots");
    const apply = await withoutKeys(dir, ["apply", "--auto-approve"], { BRAZE_PARTNER_API_KEY: "emulator-partner-key", BRAZE_DATA_IMPORT_KEY: "emulator-data-import-key" });
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain("environment variable COHO_STATE_URL is not set");
  });
});
