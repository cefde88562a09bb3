import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, STACK_FRAME } from "../helpers/cli.js";

/**
 * Two environments writing one destination to the same Braze workspace would
 * undo each other's applies. The same endpoint spelled another way (host in
 * capitals, a trailing slash, the scheme's default port) is still the same
 * workspace, and must be refused like an identical spelling.
 */
describe("environments sharing a Braze workspace under another spelling of its endpoint", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "coho-env-spelling-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(["https://REST.fra-02.braze.eu/", "https://rest.fra-02.braze.eu:443", "HTTPS://rest.fra-02.braze.eu//"])("refuses %s beside https://rest.fra-02.braze.eu with the same key", async (spelling) => {
    writeFileSync(join(dir, "coho.yaml"), `version: 1
destinations:
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
  c:
    name: C
    destination: braze
    model: m
    identifier: user_id
    attribute: coho_c
environments:
  staging:
    default: true
  production:
    destinations:
      braze:
        rest_endpoint: ${spelling}
`);
    const result = await runCli(["validate"], { cwd: dir, env: { BRAZE_KEY: "key-value-never-printed" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[config.environment_shared_workspace]");
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: environments `staging` and `production`/);
    expect(result.stderr + result.stdout).not.toContain("key-value-never-printed");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("refuses two environments whose default state schemas PostgreSQL cuts to one name", async () => {
    const stem = `e${"x".repeat(59)}`;
    writeFileSync(join(dir, "coho.yaml"), `version: 1
state:
  backend: postgres
  url: \${env:STATE_URL}
destinations:
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
environments:
  ${stem}_a:
    destinations: { braze: { rest_endpoint: https://rest.fra-01.braze.eu } }
  ${stem}_b:
    destinations: { braze: { rest_endpoint: https://rest.iad-01.braze.com } }
`);
    const result = await runCli(["--env", `${stem}_a`, "validate"], { cwd: dir, env: { BRAZE_KEY: "k", STATE_URL: "postgres://u@127.0.0.1/db" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[config.environment_shared_state]");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});
