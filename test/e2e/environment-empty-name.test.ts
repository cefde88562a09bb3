import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, STACK_FRAME } from "../helpers/cli.js";

/**
 * `coho --env "$TARGET" apply` with TARGET unset passes an empty name. Taking it
 * as "no --env" would run the command in the default environment (which may be
 * production): an empty --env is refused, exit 1, before anything is planned.
 */
describe("an empty --env", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "coho-env-empty-"));
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
    description: the staging workspace
    destinations:
      braze:
        rest_endpoint: https://rest.fra-01.braze.eu
  production:
    default: true
`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is refused instead of choosing the default environment", async () => {
    const result = await runCli(["--env", "", "plan"], { cwd: dir, env: { BRAZE_KEY: "k" } });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain("Environment: production");
    expect(result.stderr).toContain("--env was given an empty name");
    expect(result.stderr).toContain("[config.environment_unknown]");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("leaves the default in force when --env is not given at all", async () => {
    const result = await runCli(["plan"], { cwd: dir, env: { BRAZE_KEY: "k" } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Environment: production");
  });
});
