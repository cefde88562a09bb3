import type { BrazeCohortsConfig } from "../../src/model/project.js";
import { mkdtempSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { loadProject } from "../../src/config/load-project.js";
import { MAX_CONFIG_BYTES } from "../../src/config/read-yaml.js";
import { EXAMPLES, FIXTURES, PLANTED_SECRETS } from "../helpers/fixtures.js";

const includes = join(FIXTURES, "valid", "includes");

describe("loading a valid project", () => {
  const examples = readdirSync(EXAMPLES).filter((d) => existsSync(join(EXAMPLES, d, "coho.yaml")));

  // examples/gitops has no .env: its settings come from the workflow, as in CI.
  const exampleEnv: Record<string, Record<string, string>> = {
    gitops: {
      COHO_STATE_URL: "postgres://coho@127.0.0.1:5432/coho",
      BRAZE_REST_ENDPOINT: "https://rest.iad-01.braze.com",
      BRAZE_PARTNER: "acme",
      BRAZE_PARTNER_API_KEY: "partner-key-for-test",
      BRAZE_DATA_IMPORT_KEY: "import-key-for-test",
    },
  };

  it.each(examples)("examples/%s validates with no error or warning", (name) => {
    const result = loadProject(join(EXAMPLES, name), { env: exampleEnv[name] ?? {} });
    expect(result.diagnostics).toEqual([]);
    expect(result.project).toBeDefined();
  });

  it("merges included files, resolving paths against the file that names them", () => {
    const { project, diagnostics } = loadProject(includes, { env: {} });
    expect(diagnostics).toEqual([]);
    expect(project).toBeDefined();
    if (!project) return;
    expect([...project.cohorts.keys()]).toEqual(["buyers", "devices"]);
    expect(project.files.map((f) => f.slice(includes.length + 1))).toEqual(["coho.yaml", "cohorts/buyers.yaml", "cohorts/devices.yaml"]);
    const buyers = project.models.get("buyers");
    expect(buyers?.sql).toBe("select user_id from read_csv('data/buyers.csv')\n");
    expect(buyers?.sqlOrigin).toEqual({ file: join(includes, "models", "buyers.sql"), line: 1, column: 1 });
    expect(project.models.get("devices")?.sqlOrigin).toMatchObject({ file: join(includes, "cohorts", "devices.yaml"), line: 4, column: 7 });
    // No source declared: the embedded in-memory DuckDB.
    expect(buyers?.source).toBe("duckdb");
    expect(project.sources.get("duckdb")).toMatchObject({ type: "duckdb", path: undefined });
  });

  it("reads cohort options into typed values", () => {
    const { project } = loadProject(includes, { env: {} });
    const buyers = project?.cohorts.get("buyers");
    expect(buyers).toMatchObject({
      address: "cohorts.buyers",
      cohortId: "legacy-buyers-01",
      preventDestroy: true,
      guards: { maxRemovals: { kind: "percent", value: 12.5 }, allowEmpty: true },
    });
    expect(project?.cohorts.get("devices")?.guards).toEqual({ maxRemovals: { kind: "count", value: 250 }, allowEmpty: false });
    expect(project?.identifiers.get("email")).toMatchObject({ type: "alias", label: "email", column: "email" });
    expect(project?.moved).toMatchObject([{ from: "cohorts.old_devices", to: "cohorts.devices" }]);
  });

  it("interpolates ${env:…} in connection settings with defaults, .env, and $$ escapes; the real environment wins", () => {
    const fromFile = loadProject(includes, { env: {} }).project;
    expect(fromFile?.cohorts.get("buyers")?.name).toBe("Buyers ${env:NOT_INTERPOLATED}");
    expect(fromFile?.destinations.get("braze")?.restEndpoint).toBe("https://rest.fra-01.braze.eu");
    const real = loadProject(includes, { env: { BRAZE_REST_ENDPOINT: "https://rest.iad-03.braze.com" } }).project;
    expect(real?.destinations.get("braze")?.restEndpoint).toBe("https://rest.iad-03.braze.com");
  });

  it("interpolates ${var:…} from defaults and --var values, typed, never from the environment", () => {
    const defaults = loadProject(includes, { env: { COHORT_SUFFIX: "from env" } }).project;
    expect(defaults?.cohorts.get("devices")?.name).toBe("Devices (default suffix)");
    const given = loadProject(includes, { env: {}, vars: { cohort_suffix: "from --var", max_removals: "10" } }).project;
    expect(given?.cohorts.get("devices")?.name).toBe("Devices (from --var)");
    expect(given?.cohorts.get("devices")?.guards.maxRemovals).toEqual({ kind: "count", value: 10 });
    const wrong = loadProject(includes, { env: {}, vars: { max_removals: "ten", cohort_sufix: "x" } });
    expect(wrong.project).toBeUndefined();
    expect(wrong.diagnostics.map((d) => d.message)).toEqual([
      "--var cohort_sufix: no variable `cohort_sufix` is declared under vars: in coho.yaml; did you mean `cohort_suffix`?",
      "--var max_removals: the value is not an integer",
      "cohorts.devices.guards.max_removals: variable `max_removals` has no value: give it a default under vars.max_removals, or pass --var max_removals=VALUE",
    ]);
  });

  it("keeps secrets out of every printable form of the project", () => {
    const { project } = loadProject(includes, { env: {} });
    const destination = project?.destinations.get("braze") as BrazeCohortsConfig | undefined;
    expect(destination?.partnerApiKey.reveal()).toBe(PLANTED_SECRETS[0]);
    expect(destination?.partnerApiKey.source).toBe("BRAZE_PARTNER_API_KEY");
    const printed = [JSON.stringify(destination), String(destination?.dataImportKey), inspect(project, { depth: 10 })].join("\n");
    for (const secret of PLANTED_SECRETS) expect(printed).not.toContain(secret);
    expect(JSON.stringify(destination)).toContain('"partnerApiKey":"***"');
  });
});

describe("warnings and refusals", () => {
  const project = (yaml: string): string => {
    const dir = mkdtempSync(join(tmpdir(), "coho-config-"));
    writeFileSync(join(dir, "coho.yaml"), yaml);
    writeFileSync(join(dir, ".env"), "K1=aaaaaaaa\nK2=bbbbbbbb\n");
    return dir;
  };
  const destination = (endpoint: string, extra = "") => `version: 1
destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: ${endpoint}
    partner: acme
    partner_api_key: \${env:K1}
    data_import_key: \${env:K2}
${extra}`;

  it("warns about a rest_endpoint outside Braze's instance list, unless opted in", () => {
    const warned = loadProject(project(destination("https://braze.example.com")), { env: {} });
    expect(warned.project).toBeDefined();
    expect(warned.diagnostics).toMatchObject([
      { severity: "warning", code: "config.endpoint_unknown", location: { line: 5, column: 20 } },
    ]);
    const optedIn = loadProject(project(destination("https://braze.example.com", "    allow_unknown_endpoint: true\n")), { env: {} });
    expect(optedIn.diagnostics).toEqual([]);
    for (const endpoint of ["http://127.0.0.1:4010", "http://localhost:4010", "https://rest.jp-01.braze.com"]) {
      expect(loadProject(project(destination(endpoint)), { env: {} }).diagnostics).toEqual([]);
    }
  });

  it("refuses a config file over the size cap before parsing it", () => {
    const dir = project(`version: 1\n# ${"x".repeat(MAX_CONFIG_BYTES)}\n`);
    const result = loadProject(dir, { env: {} });
    expect(result.diagnostics).toMatchObject([{ code: "config.file_too_large", location: { line: 1, column: 1 } }]);
  });

  it("says how to start when there is no coho.yaml", () => {
    const dir = mkdtempSync(join(tmpdir(), "coho-empty-"));
    const result = loadProject(dir, { env: {} });
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]?.message).toContain("run `coho init`");
  });

  it("warns about an include pattern that matches nothing", () => {
    const result = loadProject(project("version: 1\ninclude:\n  - nowhere/*.yaml\n"), { env: {} });
    expect(result.project).toBeDefined();
    expect(result.diagnostics).toMatchObject([{ severity: "warning", code: "config.include_empty", location: { line: 3, column: 5 } }]);
  });
});
