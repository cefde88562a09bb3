import pg from "pg";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { STACK_FRAME, runCli } from "../helpers/cli.js";
import { DESTINATION_YAML, EMULATOR_ENV, createDatabase, writeProject } from "../helpers/project.js";

/**
 * A PostgreSQL source that fails while coho plans: each kind of failure ends in
 * exit 1 with its own message (never exit 13 with no output, never "fix the SQL"
 * for a lost connection).
 */
let url: string;
beforeAll(async () => {
  url = await createDatabase(inject("pgUrl"), "failures");
});

function pgProject(sql: string, extra = ""): string {
  return writeProject({
    "coho.yaml": `version: 1
sources:
  pg:
    type: postgres
    url: \${env:PG_URL}
${extra}${DESTINATION_YAML}models:
  m:
    sql: ${JSON.stringify(sql)}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: user_id }
`,
  });
}

/** Waits until coho's model query runs, then ends its backend from another session. */
async function terminateCohoWhenActive(): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (let i = 0; i < 300; i++) {
      const { rows } = await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'coho' AND state = 'active' AND query LIKE '%generate_series%'");
      if (rows.length > 0) {
        await new Promise((r) => setTimeout(r, 300));
        await admin.query("SELECT pg_terminate_backend($1)", [rows[0].pid]);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("coho's query never became active");
  } finally {
    await admin.end();
  }
}

describe("PostgreSQL source failures during plan", () => {
  it("a connection lost mid-stream: exit 1 naming the lost connection, not the SQL", async () => {
    // Rows arrive in pages; every 20,000 rows the server sleeps, so the kill lands mid-stream.
    const dir = pgProject("select 'u' || g as user_id from generate_series(1, 200000) g where g % 20000 <> 0 or pg_sleep(2) is not null");
    const [result] = await Promise.all([runCli(["plan"], { cwd: dir, env: { ...EMULATOR_ENV, PG_URL: url }, timeoutMs: 60_000 }), terminateCohoWhenActive()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/connection to PostgreSQL at 127\.0\.0\.1:\d+\/\S+ was lost while models\.m ran/);
    expect(result.stderr).not.toMatch(/fix the SQL|internal error/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.stdout).not.toMatch(/No changes/);
  });

  it("statement_timeout: its own message and hint", async () => {
    const dir = pgProject("select 'u' || g as user_id from generate_series(1, 3) g, pg_sleep(5)", "    statement_timeout: 500ms\n");
    const result = await runCli(["plan"], { cwd: dir, env: { ...EMULATOR_ENV, PG_URL: url } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("ran longer than statement_timeout (500ms)");
    expect(result.stderr).toContain("raise sources.pg.statement_timeout");
    expect(result.stderr).not.toMatch(/fix the SQL/);
  });

  it("a URL with a port out of range or no scheme: located config error naming the variable, never the URL", async () => {
    for (const bad of ["postgres://coho:pw-SECRET-1@127.0.0.1:99999/db", "127.0.0.1:5432/db"]) {
      const dir = pgProject("select 'a' as user_id");
      const result = await runCli(["validate"], { cwd: dir, env: { ...EMULATOR_ENV, PG_URL: bad } });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/coho\.yaml:5:\d+: error: sources\.pg\.url: the URL in environment variable PG_URL/);
      expect(result.stderr).not.toContain("pw-SECRET-1");
      expect(result.stderr).not.toMatch(/ENOTFOUND|base/);
    }
  });

  it("ssl.mode and a contradicting ?sslmode= in the URL: an error, not a silent override", async () => {
    const dir = pgProject("select 'a' as user_id", "    ssl: { mode: verify-full }\n");
    const result = await runCli(["validate"], { cwd: dir, env: { ...EMULATOR_ENV, PG_URL: `${url}?sslmode=disable` } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("sources.pg.ssl.mode is verify-full but the URL's sslmode means disable");
  });

  it("?sslmode=disable alone is honoured without the driver's warning", async () => {
    const dir = pgProject("select 'u1' as user_id");
    const result = await runCli(["plan"], { cwd: dir, env: { ...EMULATOR_ENV, PG_URL: `${url}?sslmode=disable` } });
    expect(result.stderr).not.toMatch(/SECURITY WARNING|sslmode/);
    expect(result.code).toBe(0);
  });

  it("a variable set but empty is reported as empty, not as unset", async () => {
    const dir = pgProject("select 'a' as user_id");
    const result = await runCli(["validate"], { cwd: dir, env: { ...EMULATOR_ENV, PG_URL: "" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("environment variable PG_URL is set but empty");
  });
});
