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
import { mkdtempSync, writeFileSync } from "node:fs";
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
  await session.engine.connection.run(`CREATE TABLE memory.main.recorded AS SELECT 'external_id:u' || range AS key FROM range(0, ${n})`);
  const backend = session.backend;
  const saved = await backend.saveSnapshot(session.engine, "bench-cohort", "SELECT key FROM memory.main.recorded");
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

