import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STACK_FRAME, runCli } from "../helpers/cli.js";
import { dbtHeader, dbtProject } from "../helpers/dbt-project.js";
import { DESTINATION_YAML, EMULATOR_ENV, writeProject } from "../helpers/project.js";

/**
 * What a pull request can reach when its own coho.yaml is what `plan` reads: the
 * reviewed configuration cannot widen the sandbox or point coho at files outside
 * the project; only the pipeline can, from outside it. Planted secrets never
 * appear in any output.
 */
const SECRET = "ghp_reachcanary0123456789abcdef";

/** A file outside every project, holding the planted secret. */
function outsideFile(name: string, content: string): string {
  const dir = writeProject({ [name]: content });
  return join(dir, name);
}

const cli = (dir: string, args: string[], env: Record<string, string> = {}) => runCli(["-C", dir, ...args, "--no-color"], { env: { ...EMULATOR_ENV, ...env } });

function sandboxProject(allowed: string, sql = "select 'u1' as user_id"): string {
  return writeProject({
    "coho.yaml": `version: 1
sources:
  files:
    type: duckdb
    allowed_paths: [${allowed}]
${DESTINATION_YAML}models:
  m:
    source: files
    sql: ${sql}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: user_id }
`,
    ".git/config": `[http]\n\textraheader = AUTHORIZATION: basic ${SECRET}\n`,
    ".env": `UNRELATED_TOKEN=${SECRET}\nCOHO_ALLOW_PATHS=/\n`,
  });
}

describe("sources.<name>.allowed_paths cannot widen the sandbox from coho.yaml alone", () => {
  it.each([
    ["the whole machine", "/", "/"],
    ["the project's .git folder", ".git", ".git"],
    ["the project's .env", ".env", ".env"],
  ])("refuses %s (even with COHO_ALLOW_PATHS in the project's own .env), located, naming the pipeline's opt-in", async (_, allowed, shown) => {
    const dir = sandboxProject(allowed, "select content as user_id from read_text('/etc/passwd')");
    for (const command of [["validate"], ["plan"]]) {
      const result = await cli(dir, command);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`sources.files.allowed_paths: ${shown} is outside the project folder or hidden`);
      expect(result.stderr).toContain("--allow-path");
      expect(result.stderr).toContain("COHO_ALLOW_PATHS");
      expect(result.stderr).toMatch(/coho\.yaml:5:\d+/);
      expect(result.stdout + result.stderr).not.toContain(SECRET);
      expect(result.stdout + result.stderr).not.toMatch(/root:x:0/);
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }
  });

  it("reads outside the project once the pipeline opts in with --allow-path or COHO_ALLOW_PATHS", async () => {
    const users = outsideFile("users.csv", "user_id\nx1\nx2\n");
    const folder = join(users, "..");
    const dir = sandboxProject(folder, `select user_id from read_csv('${users}')`);
    const refused = await cli(dir, ["plan"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("config.allowed_path_not_opted_in");
    for (const [args, env] of [[["--allow-path", folder], {}], [[], { COHO_ALLOW_PATHS: `/nonexistent:${folder}` }]] as const) {
      const allowed = await cli(dir, [...args, "plan"], env);
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(allowed.stdout).toContain("0 → 2  (+2 / −0)");
    }
    // An opt-in for another folder does not cover this one.
    const other = await cli(dir, ["plan", "--allow-path", join(folder, "elsewhere")]);
    expect(other.code).toBe(1);
  });
});

describe("the dbt manifest is confined like model files", () => {
  const vip = "models:\n  vip: { dbt: users_vip }\n";
  /** A file that is not a manifest but looks enough like one to reach the version check. */
  const fakeManifest = JSON.stringify({ metadata: { dbt_schema_version: `${SECRET}/manifest/v99.json`, dbt_version: SECRET }, nodes: {} });

  it("refuses a link out of the project and a hidden file, and echoes nothing of either", async () => {
    const outside = outsideFile("secrets.json", fakeManifest);
    const linked = dbtProject(dbtHeader().replace("target/manifest.json", "evil.json") + vip, null);
    symlinkSync(outside, join(linked, "evil.json"));
    const passwd = dbtProject(dbtHeader().replace("target/manifest.json", "passwd.json") + vip, null);
    symlinkSync("/etc/passwd", join(passwd, "passwd.json"));
    const hidden = dbtProject(dbtHeader().replace("target/manifest.json", ".hidden.json") + vip, null, { ".hidden.json": fakeManifest });
    const allowedButHidden = dbtProject(dbtHeader("  allow_outside_project: true\n").replace("target/manifest.json", ".hidden.json") + vip, null, { ".hidden.json": fakeManifest });
    for (const dir of [linked, passwd, hidden, allowedButHidden]) {
      const result = await cli(dir, ["validate"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("is outside the project folder or hidden");
      expect(result.stderr).toContain("coho.yaml:3:13");
      expect(result.stdout + result.stderr).not.toContain(SECRET);
      expect(result.stdout + result.stderr).not.toMatch(/root:x:0/);
    }
  });

  it("reads a manifest outside only with the pipeline's opt-in, and never echoes what a non-manifest holds", async () => {
    const outside = outsideFile("manifest.json", fakeManifest);
    const dir = dbtProject(dbtHeader("  allow_outside_project: true\n").replace("target/manifest.json", outside) + vip, null);
    const refused = await cli(dir, ["validate"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("coho.yaml alone cannot widen what coho reads");
    const opted = await cli(dir, ["--allow-path", outside, "validate"]);
    expect(opted.code).toBe(1);
    expect(opted.stderr).toContain("has a metadata.dbt_schema_version that is not a dbt schema URL; coho reads dbt 1.6–1.11");
    expect(opted.stdout + opted.stderr).not.toContain(SECRET);
    writeFileSync(outside, `{"metadata": {"dbt_schema_version": "${SECRET}"}, "nodes": {}, }`);
    const notJson = await cli(dir, ["--allow-path", outside, "validate"]);
    expect(notJson.stderr).toContain("is not JSON");
    expect(notJson.stdout + notJson.stderr).not.toContain(SECRET);
    // COHO_DBT_MANIFEST from the pipeline's environment is an opt-in; from the project's own .env it is not.
    const fromEnv = await cli(dir, ["validate"], { COHO_DBT_MANIFEST: outside });
    expect(fromEnv.stderr).toContain("is not JSON");
    writeFileSync(join(dir, ".env"), `COHO_DBT_MANIFEST=${outside}\n`);
    const fromDotEnv = await cli(dir, ["validate"]);
    expect(fromDotEnv.stderr).toContain("coho.yaml alone cannot widen what coho reads");
  });
});
