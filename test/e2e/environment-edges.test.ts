import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, STACK_FRAME } from "../helpers/cli.js";

/**
 * Edges of `environments:` found by trying to break them: an empty --env, one
 * workspace under another spelling of its endpoint, and state schema names
 * PostgreSQL cuts to one. Offline commands only: no Braze, no database.
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "coho-env-edges-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One attribute-road cohort on https://rest.fra-02.braze.eu, then `tail` (state, environments). */
function writeConfig(tail: string, head = ""): void {
  writeFileSync(join(dir, "coho.yaml"), `version: 1
${head}destinations:
  braze:
    type: braze_attributes
    rest_endpoint: https://rest.fra-02.braze.eu
    api_key: \${env:BRAZE_KEY}
models:
  m:
    sql: select 'a' as user_id
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: user_id, attribute: coho_c }
${tail}`);
}

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { BRAZE_KEY: "k", ...env } });

describe("an empty --env", () => {
  // `coho --env "$TARGET" apply` with TARGET unset passes an empty name. Taking it as
  // "no --env" would run in the default environment (which may be production).
  beforeAll(() => writeConfig(`environments:
  staging:
    description: the staging workspace
    destinations:
      braze:
        rest_endpoint: https://rest.fra-01.braze.eu
  production:
    default: true
`));

  it("is refused instead of choosing the default environment", async () => {
    const result = await cli(["--env", "", "plan"]);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain("Environment: production");
    expect(result.stderr).toContain("--env was given an empty name");
    expect(result.stderr).toContain("[config.environment_unknown]");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("leaves the default in force when --env is not given at all", async () => {
    const result = await cli(["plan"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Environment: production");
  });
});

describe("environments sharing a Braze workspace or a state schema under another spelling", () => {
  // The same endpoint spelled another way (host in capitals, a trailing slash, the
  // scheme's default port) is still the same workspace.
  it.each(["https://REST.fra-02.braze.eu/", "https://rest.fra-02.braze.eu:443", "HTTPS://rest.fra-02.braze.eu//"])("refuses %s beside https://rest.fra-02.braze.eu with the same key", async (spelling) => {
    writeConfig(`environments:
  staging:
    default: true
  production:
    destinations:
      braze:
        rest_endpoint: ${spelling}
`);
    const result = await cli(["validate"], { BRAZE_KEY: "key-value-never-printed" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[config.environment_shared_workspace]");
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: environments `staging` and `production`/);
    expect(result.stderr + result.stdout).not.toContain("key-value-never-printed");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("refuses two environments whose default state schemas PostgreSQL cuts to one name", async () => {
    const stem = `e${"x".repeat(59)}`;
    writeConfig(`environments:
  ${stem}_a:
    destinations: { braze: { rest_endpoint: https://rest.fra-01.braze.eu } }
  ${stem}_b:
    destinations: { braze: { rest_endpoint: https://rest.iad-01.braze.com } }
`, "state:\n  backend: postgres\n  url: ${env:STATE_URL}\n");
    const result = await cli(["--env", `${stem}_a`, "validate"], { STATE_URL: "postgres://u@127.0.0.1/db" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[config.environment_shared_state]");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});
