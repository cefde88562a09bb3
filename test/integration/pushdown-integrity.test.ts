import { join } from "node:path";
import pg from "pg";
import { inject, describe, expect, it } from "vitest";
import { readLockfile } from "../../src/state/lockfile.js";
import { digestFromPostgresRow, memberDigest, memberDigestPostgresSql } from "../../src/state/member-digest.js";
import { verifySnapshot } from "../../src/state/postgres-snapshot-check.js";
import { coho, SECRET_ENV } from "../helpers/apply-project.js";
import { emulators } from "../helpers/emulator.js";
import { createDatabase, destinationEntry, runSql, writeProject } from "../helpers/project.js";

const start = emulators();

/** A project whose model source and state share `url` (so plans push down), over table `people`. */
async function pushDownProject(url: string, sql = "select email from people"): Promise<string> {
  const emu = await start();
  return writeProject({
    "coho.yaml": `version: 1
state:
  backend: postgres
  url: \${env:COHO_STATE_URL}
sources:
  pg:
    type: postgres
    url: \${env:COHO_STATE_URL}
destinations:
${destinationEntry("braze", emu.url)}models:
  m:
    sql: ${sql}
identifiers:
  email: { type: alias, column: email, label: email }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: email, guards: { max_removals: 100% } }
`,
  });
}

describe("push-down: integrity of what it reads", () => {
  it("computes the member digest in PostgreSQL exactly as the reference does", async () => {
    const url = await createDatabase(inject("pgUrl"), "pushdown_digest");
    const keys = ["alias:email:a@x.io", "external_id:ünïcødé", "device_id:🙂", "external_id:it's", "external_id:back\\slash", ...Array.from({ length: 300 }, (_, i) => `external_id:u${i}`)];
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("CREATE TABLE k (key text)");
      const digestOf = async () => digestFromPostgresRow((await client.query(memberDigestPostgresSql("SELECT key FROM k"))).rows[0]);
      expect(await digestOf()).toBe(memberDigest([]));
      await client.query("INSERT INTO k SELECT unnest($1::text[])", [keys]);
      expect(await digestOf()).toBe(memberDigest(keys));
    } finally {
      await client.end();
    }
  }, 60_000);

  it("refuses a plan over a snapshot edited in the database, and names the mismatch", async () => {
    const url = await createDatabase(inject("pgUrl"), "pushdown_tamper");
    await runSql(url, "CREATE TABLE people (email text); INSERT INTO people SELECT 'p' || g || '@x.io' FROM generate_series(1, 50) g");
    const dir = await pushDownProject(url);
    const env = { ...SECRET_ENV, COHO_STATE_URL: url };
    const applied = await coho(dir, ["apply", "--auto-approve"], env);
    expect(applied.code, applied.stderr).toBe(0);
    const clean = await coho(dir, ["plan", "--json"], env);
    expect(clean.code, clean.stderr).toBe(0);

    // One key swapped for another: same count, different digest.
    await runSql(url, "UPDATE coho.snapshot_keys SET key = 'alias:email:intruder@x.io' WHERE key = 'alias:email:p7@x.io'");
    const swapped = await coho(dir, ["plan"], env);
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toMatch(/snapshot in the state database does not match its state: expected 50 members .* found 50 /);
    expect(swapped.stderr).not.toMatch(/\n\s+at /);

    // One key removed: the count differs too.
    await runSql(url, "DELETE FROM coho.snapshot_keys WHERE key = 'alias:email:intruder@x.io'");
    const truncated = await coho(dir, ["plan"], env);
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toMatch(/expected 50 members .* found 49 /);
  }, 120_000);

  it("verifies by the checksum recorded at apply, and by the full digest whenever that check does not hold", async () => {
    const url = await createDatabase(inject("pgUrl"), "pushdown_check");
    await runSql(url, "CREATE TABLE people (email text); INSERT INTO people SELECT 'p' || g || '@x.io' FROM generate_series(1, 40) g");
    const dir = await pushDownProject(url);
    const env = { ...SECRET_ENV, COHO_STATE_URL: url };
    const applied = await coho(dir, ["apply", "--auto-approve"], env);
    expect(applied.code, applied.stderr).toBe(0);
    const recorded = readLockfile(join(dir, "coho.lock")).cohorts["cohorts.c"]!;
    const tables = { snapshots: "coho.snapshot_keys", checks: "coho.snapshot_checks" };
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const verify = () => verifySnapshot(client, tables, recorded.snapshot, recorded.members);
      expect(await verify()).toBe("checksum");
      // A check that no longer matches the rows (or none at all) is not trusted: the digest decides.
      await client.query("UPDATE coho.snapshot_checks SET h0 = h0 + 1");
      expect(await verify()).toBe("digest");
      await client.query("DELETE FROM coho.snapshot_checks");
      expect(await verify()).toBe("digest");
      await client.query("UPDATE coho.snapshot_keys SET key = 'alias:email:other@x.io' WHERE key = 'alias:email:p3@x.io'");
      await expect(verify()).rejects.toThrow(/does not match its state: expected 40 members/);
    } finally {
      await client.end();
    }
  }, 120_000);

  it("reports an error the model's SQL raises while the diff runs as the model's, located, without a stack trace", async () => {
    const url = await createDatabase(inject("pgUrl"), "pushdown_sqlerror");
    await runSql(url, "CREATE TABLE people (email text); INSERT INTO people VALUES ('a@x.io')");
    // Plans and describes fine; fails only when rows flow, inside the pushed-down statement.
    const dir = await pushDownProject(url, "select email from people where 1 / (length(email) - length(email)) = 0");
    const plan = await coho(dir, ["plan"], { ...SECRET_ENV, COHO_STATE_URL: url });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(/coho\.yaml:\d+:\d+/);
    expect(plan.stderr).toMatch(/models?\.?m\b.*division by zero|division by zero/);
    expect(plan.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
