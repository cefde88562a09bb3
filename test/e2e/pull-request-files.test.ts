import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STACK_FRAME, runCli } from "../helpers/cli.js";
import { DESTINATION_YAML, EMULATOR_ENV, writeProject } from "../helpers/project.js";

/** A file outside the project, as another service's credentials on the runner would be. */
function outsideCredentials(): string {
  const dir = writeProject({ "credentials": "aws_access_key_id = AKIAOUTSIDECANARY\naws_secret_access_key: outside/secret/canary\n" });
  return join(dir, "credentials");
}

const validate = (dir: string, args: string[] = [], env: Record<string, string> = {}) => runCli(["-C", dir, "validate", "--no-color", ...args], { env: { ...EMULATOR_ENV, ...env }, timeoutMs: 20_000 });

const PG_PROJECT = (ssl: string) => `version: 1
sources:
  pg:
    type: postgres
    url: \${env:PG_URL}
    ssl: { mode: verify-full, ca_file: ${ssl} }
${DESTINATION_YAML}models:
  m: { source: pg, sql: "select 'u1' as user_id" }
identifiers:
  user_id: { type: external_id, column: user_id }
`;

describe("files a pull request commits are read only as the project's own regular files", () => {
  it("refuses a coho.yaml that is a link to a file outside the project, showing none of that file", async () => {
    const dir = writeProject({});
    symlinkSync(outsideCredentials(), join(dir, "coho.yaml"));
    const result = await validate(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("coho.yaml:1:1: error: coho.yaml is a link to a file outside the project folder or under a hidden entry");
    expect(result.stderr).toContain("[config.path_outside_project]");
    expect(result.stdout + result.stderr).not.toMatch(/AKIA|canary/i);
  });

  it("refuses a .env that is a link out of the project or not a regular file (a FIFO would never end the read)", async () => {
    const linked = writeProject({ "coho.yaml": `version: 1\n${DESTINATION_YAML}` });
    symlinkSync(outsideCredentials(), join(linked, ".env"));
    const out = await validate(linked);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(".env:1:1: error: .env is a link to a file outside the project folder");
    expect(out.stderr).toContain("[config.env_file_invalid]");
    expect(out.stdout + out.stderr).not.toMatch(/AKIA|canary/i);

    const fifo = writeProject({ "coho.yaml": `version: 1\n${DESTINATION_YAML}` });
    execFileSync("mkfifo", [join(fifo, ".env")]);
    const piped = await validate(fifo);
    expect(piped.signal).toBeNull();
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain(".env is not a regular file");
    // A .env that is the project's own file is read as before.
    const plain = writeProject({ "coho.yaml": `version: 1\n${DESTINATION_YAML}`, ".env": "SOMETHING=1\n" });
    expect((await validate(plain)).code).toBe(0);
  });

  it("reads a PostgreSQL ssl.ca_file only inside the project or opted in by the pipeline, and only as a regular file", async () => {
    const outside = outsideCredentials();
    const dir = writeProject({ "coho.yaml": PG_PROJECT(outside) });
    const refused = await validate(dir, [], { PG_URL: "postgres://coho@db.example.com/warehouse" });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/coho\.yaml:6:\d+: error: sources\.pg\.ssl\.ca_file: .*credentials is outside the project folder, hidden, or not a regular file/);
    expect(refused.stderr).toContain("--allow-path PATH or COHO_ALLOW_PATHS");
    const optedIn = await validate(dir, ["--allow-path", outside], { PG_URL: "postgres://coho@db.example.com/warehouse" });
    expect(optedIn.code, optedIn.stderr).toBe(0);
    const own = writeProject({ "coho.yaml": PG_PROJECT("certs/ca.pem"), "certs/ca.pem": "-----BEGIN CERTIFICATE-----\n" });
    expect((await validate(own, [], { PG_URL: "postgres://coho@db.example.com/warehouse" })).code).toBe(0);
    const fifo = writeProject({ "coho.yaml": PG_PROJECT("certs/ca.pem") });
    mkdirSync(join(fifo, "certs"));
    execFileSync("mkfifo", [join(fifo, "certs", "ca.pem")]);
    const piped = await validate(fifo, [], { PG_URL: "postgres://coho@db.example.com/warehouse" });
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain("not a regular file");
  });

  it("an unresolved reference in an address setting is a located error, never an internal one", async () => {
    const dir = writeProject({
      "coho.yaml": `version: 1
destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: http://127.0.0.1:\${env:BRAZE_PORT}
    partner: acme
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
sources:
  bq: { type: bigquery, project: my-project-1, dataset: shop, api_endpoint: "http://127.0.0.1:\${env:BQ_PORT}" }
`,
    });
    const result = await validate(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("coho.yaml:5:37: error: environment variable BRAZE_PORT is not set");
    expect(result.stderr).toContain("environment variable BQ_PORT is not set");
    expect(result.stderr).not.toContain("internal error");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});
