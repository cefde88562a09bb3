import { existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { STACK_FRAME, runCli } from "../helpers/cli.js";
import { DESTINATION_YAML, EMULATOR_ENV, runSql, writeProject } from "../helpers/project.js";
import { redshiftStandIn } from "../helpers/redshift-stand-in.js";

/**
 * A Redshift source (its PostgreSQL stand-in) holding the models and the snapshots
 * fails while coho plans: each failure is one located message naming what to fix,
 * exit 1, no stack trace, and nothing written (no coho.lock, no snapshot row).
 */
let url: string;
beforeAll(async () => {
  url = await redshiftStandIn("redshift_failures");
  await runSql(url, `CREATE TABLE people (user_id varchar(64), score float8);
    INSERT INTO people VALUES ('u1', 0.5), ('u2', 1.5);
    CREATE ROLE coho_reader LOGIN;`);
});

function project(sql: string, schema = "coho_state"): string {
  return writeProject({
    "coho.yaml": `version: 1
state:
  backend: local
  snapshots: { source: wh, schema: ${schema} }
sources:
  wh: { type: redshift, url: "\${env:REDSHIFT_URL}" }
${DESTINATION_YAML}models:
  m:
    source: wh
    sql: ${JSON.stringify(sql)}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: user_id }
`,
  });
}

const asUser = (user: string) => {
  const u = new URL(url);
  u.username = user;
  return u.toString();
};

/** Nothing recorded: no coho.lock, no .coho/snapshots, no snapshot row in the warehouse. */
async function nothingWritten(dir: string): Promise<void> {
  expect(existsSync(join(dir, "coho.lock"))).toBe(false);
  expect(existsSync(join(dir, ".coho", "snapshots"))).toBe(false);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT to_regclass('coho_state.snapshot_keys') IS NOT NULL AS present");
    if (rows[0].present) expect((await client.query("SELECT count(*)::int AS n FROM coho_state.snapshot_keys")).rows[0].n).toBe(0);
  } finally {
    await client.end();
  }
}

function expectOneCleanError(result: { code: number | null; stderr: string }): void {
  expect(result.code).toBe(1);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stderr).not.toMatch(/internal error/i);
}

describe("Redshift source failures", () => {
  it("a missing or malformed URL: located, naming the variable, never its value", async () => {
    const dir = project("select user_id from people");
    const unset = await runCli(["validate"], { cwd: dir, env: { ...EMULATOR_ENV } });
    expectOneCleanError(unset);
    expect(unset.stderr).toMatch(/coho\.yaml:6:\d+: error: .*REDSHIFT_URL/);
    for (const bad of ["redshift-cluster:5439/dev?password=pw-SECRET-7", "postgres://coho:pw-SECRET-7@127.0.0.1:99999/dev"]) {
      const result = await runCli(["validate"], { cwd: dir, env: { ...EMULATOR_ENV, REDSHIFT_URL: bad } });
      expectOneCleanError(result);
      expect(result.stderr).toMatch(/coho\.yaml:6:\d+: error: sources\.wh\.url: the URL in environment variable REDSHIFT_URL/);
      expect(result.stderr).not.toContain("pw-SECRET-7");
    }
  });

  it("an unknown table: the model's SQL located and the relation named; apply writes nothing", async () => {
    const dir = project("select user_id from no_such_table");
    const result = await runCli(["apply", "--auto-approve"], { cwd: dir, env: { ...EMULATOR_ENV, REDSHIFT_URL: url } });
    expectOneCleanError(result);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: model m: .*relation "no_such_table" does not exist/s);
    await nothingWritten(dir);
  });

  it("permission denied: names the grant that is missing, on the model's table and on coho's schema", async () => {
    const database = new URL(url).pathname.slice(1);
    // coho may create its schema but not read the model's table.
    await runSql(url, `GRANT CREATE ON DATABASE ${database} TO coho_reader`);
    const noSelect = project("select user_id from people", "coho_reader_state");
    const denied = await runCli(["apply", "--auto-approve"], { cwd: noSelect, env: { ...EMULATOR_ENV, REDSHIFT_URL: asUser("coho_reader") } });
    expectOneCleanError(denied);
    expect(denied.stderr).toMatch(/coho\.yaml:\d+:\d+: error: source wh: Redshift at \S+ refused models\.m: permission denied for table people/);
    expect(denied.stderr).toContain("GRANT SELECT ON people TO coho_reader");
    await nothingWritten(noSelect);
    // coho may read the table but not create its own schema.
    await runSql(url, `REVOKE CREATE ON DATABASE ${database} FROM coho_reader; GRANT SELECT ON people TO coho_reader`);
    const dir = project("select user_id from people", "coho_state_denied");
    const noSchema = await runCli(["apply", "--auto-approve"], { cwd: dir, env: { ...EMULATOR_ENV, REDSHIFT_URL: asUser("coho_reader") } });
    expectOneCleanError(noSchema);
    expect(noSchema.stderr).toContain(`GRANT CREATE ON DATABASE ${database} TO coho_reader`);
    await nothingWritten(dir);
  });

  it("a connection lost while the plan runs inside the warehouse: exit 1 naming the lost connection, not the SQL", async () => {
    const dir = project("select 'u' || g as user_id from generate_series(1, 200000) g where g % 20000 <> 0 or pg_sleep(2) is not null");
    const terminate = async () => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        for (let i = 0; i < 300; i++) {
          const { rows } = await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'coho' AND state = 'active' AND query LIKE '%coho_groups%'");
          if (rows.length > 0) {
            await new Promise((r) => setTimeout(r, 300));
            await admin.query("SELECT pg_terminate_backend($1)", [rows[0].pid]);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error("coho's pushed-down diff never became active");
      } finally {
        await admin.end();
      }
    };
    const [result] = await Promise.all([runCli(["plan"], { cwd: dir, env: { ...EMULATOR_ENV, REDSHIFT_URL: url }, timeoutMs: 60_000 }), terminate()]);
    expectOneCleanError(result);
    expect(result.stderr).toMatch(/connection to Redshift at 127\.0\.0\.1:\d+\/\S+ was lost while models\.m ran/);
    expect(result.stderr).not.toMatch(/fix the SQL/);
    await nothingWritten(dir);
  }, 90_000);

  it("a key column the warehouse cannot compare as text: refused, located, naming the column and its type", async () => {
    const dir = project("select score as user_id from people");
    const result = await runCli(["apply", "--auto-approve"], { cwd: dir, env: { ...EMULATOR_ENV, REDSHIFT_URL: url } });
    expectOneCleanError(result);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: .*user_id.*double precision/);
    await nothingWritten(dir);
  });
});
