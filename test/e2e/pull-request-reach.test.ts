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

describe("no environment variable reaches SQL, names, labels or attribute names", () => {
  const KEY = "emulator-partner-key";
  const TOKEN = "ghp_tokencanary0123456789abcdef";
  /** The attack from a pull request: transform secrets past redaction and let an error print them. */
  const exfiltration = `select cast(reverse('\${env:BRAZE_PARTNER_API_KEY}')||' '||'\${env:GITHUB_TOKEN}' as int) as user_id`;
  const project = (model: string, extra = "", name = "C") =>
    writeProject({
      "coho.yaml": `version: 1
${extra}${DESTINATION_YAML}models:
  m:
    sql: ${model}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: "${name}", destination: braze, model: m, identifier: user_id }
`,
    });
  const forms = (secret: string) => [secret, [...secret].reverse().join(""), secret.toUpperCase(), Buffer.from(secret).toString("base64").slice(0, 12)];
  const leaks = (text: string) => [KEY, TOKEN].flatMap(forms).filter((form) => text.includes(form));

  it("refuses ${env:…} in model SQL and in a cohort name, located, under GitHub Actions too, printing no form of a secret", async () => {
    for (const dir of [project(exfiltration), project("select 'u1' as user_id", "", "Buyers ${env:GITHUB_TOKEN}")]) {
      for (const command of [["validate"], ["plan"], ["plan", "--output", "json"]]) {
        const result = await cli(dir, command, { GITHUB_TOKEN: TOKEN, GITHUB_ACTIONS: "true" });
        expect(result.code).toBe(1);
        expect(result.stdout + result.stderr).toContain("is not allowed here: the environment reaches only secret fields and connection settings");
        expect(result.stdout + result.stderr).toMatch(/coho\.yaml:1[0-9]:\d+/);
        expect(leaks(result.stdout + result.stderr)).toEqual([]);
      }
    }
  });

  it("takes declared variables from defaults and --var in SQL and names, typed", async () => {
    const vars = "vars:\n  min_orders: { type: integer, default: 2, description: Fewest orders a buyer has }\n  region: { type: string, default: EU }\n";
    const dir = project("select user_id from (values ('u1', 1), ('u2', 2), ('u3', 3)) t(user_id, orders) where orders >= ${var:min_orders}", vars, "Buyers ${var:region}");
    const defaults = await cli(dir, ["plan"]);
    expect(defaults.code, defaults.stderr).toBe(0);
    expect(defaults.stdout).toContain("Buyers EU");
    expect(defaults.stdout).toContain("0 → 2  (+2 / −0)");
    const given = await cli(dir, ["plan", "--var", "min_orders=3", "--var", "region=US"]);
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout).toContain("Buyers US");
    expect(given.stdout).toContain("0 → 1  (+1 / −0)");
    const wrongType = await cli(dir, ["plan", "--var", "min_orders=1 or 1=1"]);
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toContain("--var min_orders: the value is not an integer");
    const unknown = await cli(dir, ["validate", "--var", "regoin=US"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("did you mean `region`?");
  });

  it("refuses a --var that carries a secret in any form, and prints none of it", async () => {
    const dir = project("select '${var:region}' as user_id", "vars:\n  region: { type: string, default: EU }\n", "Buyers ${var:region}");
    for (const value of forms(KEY).slice(0, 3).concat(`x${Buffer.from(KEY).toString("hex")}`)) {
      const result = await cli(dir, ["plan", "--var", `region=${value}`], { GITHUB_ACTIONS: "true" });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("vars.region: its value carries a secret coho resolved from the environment");
      expect(leaks(result.stdout + result.stderr)).toEqual([]);
      expect(result.stdout + result.stderr).not.toContain(Buffer.from(KEY).toString("hex"));
    }
  });

  it("redacts a credential-like variable a connection setting reads, in the forms a message shows it", async () => {
    const token = "Ghp_MixedCaseCanary0123456789";
    const dir = writeProject({
      "coho.yaml": `version: 1
sources:
  files: { type: duckdb, path: "data/\${env:CI_TOKEN}.duckdb" }
destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: https://\${env:CI_TOKEN}.example.com
    partner: acme
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
`,
    });
    for (const command of [["validate"], ["plan"]]) {
      const result = await cli(dir, command, { CI_TOKEN: token, GITHUB_ACTIONS: "true" });
      // The host of an address is never taken from the environment (a DNS lookup would send the value out).
      expect(result.stdout + result.stderr).toContain("destinations.braze.rest_endpoint: the host of an address may not come from the environment");
      expect((result.stdout + result.stderr).toLowerCase()).not.toContain(token.toLowerCase());
    }
  });
});
