import { describe, expect, inject, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { emulators } from "../helpers/emulator.js";
import { EMULATOR_ENV, createDatabase, runSql, writeProject } from "../helpers/project.js";

const start = emulators();

/** What a pull request would try to read: a token of the job, mixed case so that a lower- or upper-cased echo counts too. */
const TOKEN = "Ghp_MixedCaseCanary0123456789";
/** A schema name must be lower snake_case. */
const LOWER_TOKEN = "ghp_lowercanary0123456789";
/** Every form a driver or a server might print a value in. */
const forms = (value: string) => [value, value.toLowerCase(), value.toUpperCase(), encodeURIComponent(value), JSON.stringify(value).slice(1, -1)];
const leaked = (text: string, value: string) => forms(value).filter((form) => text.includes(form));

/** A Cohort Import destination on Braze's US-01 instance: these tests never reach it. */
const BRAZE_US_01 = `    type: braze_cohorts
    rest_endpoint: https://rest.iad-01.braze.com
    partner: acme
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
`;

function cohortsProject(destination: string, extra = ""): string {
  return writeProject({
    "coho.yaml": `version: 1
${extra}destinations:
  braze:
${destination}models:
  m: { sql: "select 'u1' as user_id" }
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  a: { name: A, destination: braze, model: m, identifier: user_id }
`,
  });
}

describe("a secret that is an ordinary word", () => {
  it("is redacted where Braze echoes it, and coho's own hints and summaries that hold the word read as written", async () => {
    // Braze echoes the data import key when the partner is wrong ("…with client secret: KEY").
    const emu = await start({ dataImportKey: "check" });
    const project = () =>
      cohortsProject(`    type: braze_cohorts
    rest_endpoint: ${emu.url}
    partner: not-enabled
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
`);
    const dir = project();
    const env = { ...EMULATOR_ENV, BRAZE_DATA_IMPORT_KEY: "check", NO_COLOR: "1" };
    const check = await runCli(["-C", dir, "check"], { env });
    const checked = check.stdout + check.stderr;
    expect(check.code).toBe(1);
    expect(checked).toContain("Braze answered HTTP 401: Partner not enabled for client with client secret: ***");
    expect(checked).toContain("hint: check destinations.braze.partner and destinations.braze.rest_endpoint");
    expect(checked).toContain("1 of 3 checks failed.");
    expect(checked).not.toMatch(/client secret: (?!\*\*\*)/i);

    const apply = await runCli(["-C", dir, "apply", "--auto-approve"], { env });
    const applied = apply.stdout + apply.stderr;
    expect(apply.code).toBe(1);
    expect(applied).toContain("client secret: ***");
    expect(applied).toContain("hint: check destinations.braze.partner");
    expect(applied).toContain("run coho apply again to retry them");
    expect(applied).not.toMatch(/client secret: (?!\*\*\*)/i);
    const json = await runCli(["-C", project(), "apply", "--auto-approve", "--json"], { env });
    expect(json.stdout).toContain('"hint": "check destinations.braze.partner');
    expect(json.stdout).toContain("client secret: ***");
    expect(json.stdout).not.toMatch(/client secret: (?!\*\*\*)/i);
  });
});

describe("environment values a connection setting reads are redacted in every form a driver echoes", () => {
  it("DuckDB: a database path built from a variable, a long token or a short word, is never printed", async () => {
    for (const value of [TOKEN, "plan"]) {
      const dir = cohortsProject(
        BRAZE_US_01,
        `sources:\n  files: { type: duckdb, path: "\${env:CI_TOKEN}.duckdb" }\n`,
      );
      const result = await runCli(["-C", dir, "plan"], { env: { ...EMULATOR_ENV, CI_TOKEN: value, GITHUB_ACTIONS: "true", NO_COLOR: "1" } });
      expect(result.code, value).toBe(1);
      expect(result.stderr, value).toContain("database file not found: ");
      expect(result.stderr, value).toContain("***.duckdb");
      expect(leaked(result.stdout + result.stderr, `${value}.duckdb`), value).toEqual([]);
      if (value === TOKEN) expect(leaked(result.stdout + result.stderr, value)).toEqual([]);
    }
  });

  it("PostgreSQL: a state schema named by a variable is redacted where the server names it; a URL with a variable inside is refused", async () => {
    const url = await createDatabase(inject("pgUrl"), "envschema");
    const role = `coho_limited_${process.pid}`;
    // The schema exists and belongs to someone else: the server refuses coho's tables there, naming the schema.
    await runSql(url, `CREATE SCHEMA ${LOWER_TOKEN}; DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN PASSWORD 'limited-password-1'; GRANT CONNECT, CREATE ON DATABASE ${new URL(url).pathname.slice(1)} TO ${role}`);
    const limited = new URL(url);
    limited.username = role;
    limited.password = "limited-password-1";
    const state = `state:\n  backend: postgres\n  url: \${env:COHO_STATE_URL}\n  schema: \${env:STATE_SCHEMA}\n`;
    const dir = cohortsProject(
      BRAZE_US_01,
      state,
    );
    const result = await runCli(["-C", dir, "plan"], { env: { ...EMULATOR_ENV, COHO_STATE_URL: limited.toString(), STATE_SCHEMA: LOWER_TOKEN, NO_COLOR: "1" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot create or update coho.s tables in the state database at 127\.0\.0\.1:\d+\/\S+: permission denied for schema \*\*\*/);
    expect(leaked(result.stdout + result.stderr, LOWER_TOKEN)).toEqual([]);

    // Text around a reference in a URL would let coho.yaml pick the host (or the database) the value goes to.
    const partial = cohortsProject(
      BRAZE_US_01,
      `sources:\n  pg:\n    type: postgres\n    url: "postgres://${role}@${limited.host}/\${env:GITHUB_TOKEN}"\n`,
    );
    const refused = await runCli(["-C", partial, "plan"], { env: { ...EMULATOR_ENV, GITHUB_TOKEN: TOKEN, NO_COLOR: "1" } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("sources.pg.url: a secret field is one whole ${env:NAME}, without text around it");
    expect(refused.stderr).toContain("[config.secret_partial]");
    expect(leaked(refused.stdout + refused.stderr, TOKEN)).toEqual([]);
  });

  it("Braze: the host of an endpoint never comes from a variable; a key in the endpoint's URL is redacted", async () => {
    const inHost = cohortsProject(`    type: braze_cohorts
    rest_endpoint: https://\${env:GITHUB_TOKEN}.rest.example.com
    partner: acme
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
`);
    for (const command of [["validate"], ["plan"], ["check"]]) {
      const result = await runCli(["-C", inHost, ...command], { env: { ...EMULATOR_ENV, GITHUB_TOKEN: TOKEN, NO_COLOR: "1" } });
      expect(result.code, command[0]).toBe(1);
      expect(result.stderr, command[0]).toContain("destinations.braze.rest_endpoint: the host of an address may not come from the environment (${env:GITHUB_TOKEN} here)");
      expect(result.stderr).toContain("[config.env_in_host]");
      expect(leaked(result.stdout + result.stderr, TOKEN)).toEqual([]);
    }
    // The whole address from one variable is the pipeline's: shown, but not a password in it.
    const emu = await start();
    const whole = cohortsProject(`    type: braze_cohorts
    rest_endpoint: \${env:BRAZE_URL}
    partner: coho-emulator
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
`);
    const withKey = emu.url.replace("http://", `http://coho:${TOKEN}@`);
    const checked = await runCli(["-C", whole, "check"], { env: { ...EMULATOR_ENV, BRAZE_URL: withKey, NO_COLOR: "1" } });
    expect(checked.stdout + checked.stderr).toContain(new URL(emu.url).host);
    expect(leaked(checked.stdout + checked.stderr, TOKEN)).toEqual([]);
  });
});

describe("a warehouse's address is the vendor's or loopback: coho.yaml cannot send credentials or environment values elsewhere", () => {
  it("refuses a BigQuery api_endpoint and a Snowflake access_url on another host, located, printing no environment value", async () => {
    const sources = [
      ["api_endpoint", `  bq:\n    type: bigquery\n    project: \${env:GCP_PROJECT}\n    dataset: shop\n    api_endpoint: https://collector.example.com\n`, "Google's (*.googleapis.com"],
      ["access_url", `  sf:\n    type: snowflake\n    account: myorg-myaccount\n    user: coho\n    password: \${env:SNOWFLAKE_PASSWORD}\n    warehouse: wh\n    database: \${env:GCP_PROJECT}\n    schema: public\n    access_url: https://collector.example.com\n`, "Snowflake's (*.snowflakecomputing.com"],
    ] as const;
    for (const [key, source, allowed] of sources) {
      const dir = cohortsProject(
        BRAZE_US_01,
        `sources:\n${source}`,
      );
      const result = await runCli(["-C", dir, "validate"], { env: { ...EMULATOR_ENV, GCP_PROJECT: "secret-project-4711", SNOWFLAKE_PASSWORD: TOKEN, NO_COLOR: "1" } });
      expect(result.code, key).toBe(1);
      expect(result.stderr, key).toMatch(new RegExp(`coho\\.yaml:\\d+:\\d+: error: sources\\.(bq|sf)\\.${key}: host collector\\.example\\.com is neither `));
      expect(result.stderr, key).toContain(allowed);
      expect(result.stderr, key).toContain("[config.endpoint_not_allowed]");
      expect(leaked(result.stdout + result.stderr, "secret-project-4711"), key).toEqual([]);
      expect(leaked(result.stdout + result.stderr, TOKEN), key).toEqual([]);
    }
  });
});
