/**
 * The project and recorded state for a plan benchmark: one cohort of N members
 * with 1% churn (half additions, half removals).
 *   tsx test/bench/scenario-plan.ts setup N duckdb|postgres|pushdown DIR [PG_URL]
 *   tsx test/bench/scenario-plan.ts setup N bigquery|bigquery-pushdown DIR EMULATOR_URL
 * (BigQuery: the model reads bench.bench_desired; pushed down, the snapshots live in
 * the emulator's coho_state dataset.)
 * Prints one JSON line: the folder and the snapshot (a file under DIR, or the
 * snapshot id in the state database). run.ts then times `coho plan --json` and the
 * floors as whole processes against it.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LockfileDoc } from "../../src/model/state.js";

// coho as shipped: the built modules (with their build-time precompiled validators),
// typed by their sources.
const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { loadProject } = (await import(dist("config/load-project.js"))) as typeof import("../../src/config/load-project.js");
const { sqlDigest } = (await import(dist("plan/config-digest.js"))) as typeof import("../../src/plan/config-digest.js");
const { openSession } = (await import(dist("plan/session.js"))) as typeof import("../../src/plan/session.js");
const { snapshotFields } = (await import(dist("state/snapshot-record.js"))) as typeof import("../../src/state/snapshot-record.js");
const { digestFromRow, memberDigestSql } = (await import(dist("state/member-digest.js"))) as typeof import("../../src/state/member-digest.js");

const require = createRequire(import.meta.url);
const { BigQuery } = require("@google-cloud/bigquery") as typeof import("@google-cloud/bigquery");
const { PassThroughClient } = require("google-auth-library") as typeof import("google-auth-library");

const [step, nText, kind, dirArg, pgUrl] = process.argv.slice(2);
const n = Number(nText);
const churn = Math.floor(n / 200); // 0.5% removed + 0.5% added = 1%
const dir = dirArg ?? mkdtempSync(join(tmpdir(), "coho-bench-plan-"));

// Desired members: ids churn..n+churn-1; recorded snapshot: ids 0..n-1.
const sql = kind === "duckdb" ? "select user_id from read_parquet('desired.parquet')" : "select user_id from bench_desired";
// pushdown: a PostgreSQL source whose database also holds the state.
const bigquery = kind === "bigquery" || kind === "bigquery-pushdown";
const stateBlock = kind === "pushdown" ? "state:\n  backend: postgres\n  url: ${env:PG_URL}\n"
  : kind === "bigquery-pushdown" ? "state:\n  backend: local\n  snapshots: { source: wh, schema: coho_state }\n" : "";
const sourceBlock = bigquery ? `sources:\n  wh:\n    type: bigquery\n    project: coho-test\n    dataset: bench\n    api_endpoint: ${pgUrl}\n`
  : kind !== "duckdb" ? "sources:\n  pg:\n    type: postgres\n    url: ${env:PG_URL}\n" : "";
const env = { K1: "k1-bench", K2: "k2-bench", ...(pgUrl && !bigquery ? { PG_URL: pgUrl } : {}) };
if (step !== "setup") throw new Error(`unknown step ${step}`);
{
writeFileSync(
  join(dir, "coho.yaml"),
  `version: 1
${stateBlock}${sourceBlock}destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: http://127.0.0.1:4010
    partner: coho-emulator
    partner_api_key: \${env:K1}
    data_import_key: \${env:K2}
models:
  m:
    sql: ${sql}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c:
    name: Bench
    destination: braze
    model: m
    identifier: user_id
    guards: { max_removals: 100% }
`,
);

const setup = await DuckDBInstance.create(":memory:");
const conn = await setup.connect();
await conn.run(`COPY (SELECT 'u' || range AS user_id FROM range(${churn}, ${n + churn})) TO '${join(dir, "desired.parquet")}' (FORMAT parquet)`);
conn.closeSync();
setup.closeSync();
let savedSnapshot = "";
const project = loadProject(dir, { env }).project!;
{
  // The recorded state: a snapshot of ids 0..n-1 and its lockfile.
  const session = await openSession(project);
  const backend = session.backend;
  // Straight from range(): no work table of every recorded key first (100M of them are gigabytes).
  // In BigQuery, built where it lives in one statement: coho's own save sends keys as
  // INSERT literals, 5,000 a statement, which the emulator takes minutes for at 1M.
  const saved = kind === "bigquery-pushdown" ? await bigQuerySnapshot(pgUrl!, n)
    : await backend.saveSnapshot(session.engine, "bench-cohort", `SELECT 'external_id:u' || range AS key FROM range(0, ${n})`);
  savedSnapshot = saved.snapshot;
  const doc: LockfileDoc = {
    format: "coho-lock", version: 1, lineage: "bench", serial: 1,
    cohorts: {
      "cohorts.c": {
        destination: "braze", cohort_id: "bench-cohort", name: "Bench", prevent_destroy: false,
        identifier: { name: "user_id", type: "external_id", column: "user_id" },
        model: { name: "m", sql, sql_digest: sqlDigest(sql) },
        ...snapshotFields(saved), applied_at: new Date().toISOString(),
      },
    },
  };
  await backend.write(doc);
  await session.close();
}
process.stdout.write(`${JSON.stringify({ dir, snapshot: savedSnapshot })}\n`);
process.exit(0);
}

/**
 * The recorded snapshot of ids 0..n-1 in the emulator's coho_state dataset, with the
 * check row coho's BigQuery snapshot store records (digest, count, checksum), as its
 * fold would leave it.
 */
async function bigQuerySnapshot(url: string, count: number): Promise<{ snapshot: string; count: number; digest: string }> {
  const { BIGQUERY_DIALECT: dialect } = (await import(dist("sources/bigquery/dialect.js"))) as typeof import("../../src/sources/bigquery/dialect.js");
  const client = new BigQuery({ projectId: "coho-test", apiEndpoint: url, authClient: new PassThroughClient() });
  await client.dataset("coho_state").get({ autoCreate: true });
  const [keysDdl, checksDdl] = dialect.snapshotTablesDdl("coho_state").slice(1);
  for (const [table, ddl] of [["snapshot_keys", keysDdl!], ["snapshot_checks", checksDdl!]] as const) {
    if (!(await client.dataset("coho_state").table(table).exists())[0]) await client.query({ query: ddl, useLegacySql: false });
  }
  const snapshot = `bigquery:bench-cohort.${randomUUID().replace(/-/g, "")}`;
  const row = async (sql: string) => Object.values((await client.query({ query: sql, params: { p1: snapshot }, useLegacySql: false }))[0][0] as object) as unknown[];
  await client.query({ query: `INSERT INTO coho_state.snapshot_keys (snapshot, key) SELECT @p1, CONCAT('external_id:u', CAST(x AS STRING)) FROM UNNEST(GENERATE_ARRAY(0, ${count - 1})) AS x`, params: { p1: snapshot }, useLegacySql: false });
  // The member digest is the same function in every dialect (state/member-digest.ts): computed
  // here in DuckDB, as the emulator takes ~0.5 ms a key for BigQuery's MD5-and-sum form.
  const engine = await DuckDBInstance.create(":memory:");
  const connection = await engine.connect();
  const digest = digestFromRow((await connection.runAndReadAll(memberDigestSql(`SELECT 'external_id:u' || range AS key FROM range(0, ${count})`))).getRows()[0]!);
  connection.closeSync();
  engine.closeSync();
  const [n, h] = await row(dialect.checksumSql("coho_state.snapshot_keys"));
  await client.query({ query: "INSERT INTO coho_state.snapshot_checks (snapshot, digest, n, h) VALUES (@p1, @p2, @p3, @p4)", params: { p1: snapshot, p2: digest, p3: String(n), p4: String(h) }, useLegacySql: false });
  return { snapshot, count, digest };
}
