/**
 * Plan of one cohort of N members with 1% churn (half additions, half removals),
 * and beside it DuckDB alone computing the same two set differences from the
 * same files (the floor). Run in its own process so peak RSS is its own:
 *   tsx test/bench/scenario-plan.ts setup N duckdb|postgres DIR [PG_URL]   writes the project and state
 *   tsx test/bench/scenario-plan.ts coho  N duckdb|postgres DIR [PG_URL]   times coho's plan
 *   tsx test/bench/scenario-plan.ts floor N duckdb DIR                     times DuckDB alone
 * Each step runs in its own process, so peak RSS is the step's own. Prints one JSON line.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { LockfileDoc } from "../../src/model/state.js";

// coho as shipped: the built modules (with their build-time precompiled validators),
// typed by their sources.
const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { loadProject } = (await import(dist("config/load-project.js"))) as typeof import("../../src/config/load-project.js");
const { buildPlan } = (await import(dist("plan/build-plan.js"))) as typeof import("../../src/plan/build-plan.js");
const { sqlDigest } = (await import(dist("plan/config-digest.js"))) as typeof import("../../src/plan/config-digest.js");
const { openSession } = (await import(dist("plan/session.js"))) as typeof import("../../src/plan/session.js");
const { LocalBackend } = (await import(dist("state/local-backend.js"))) as typeof import("../../src/state/local-backend.js");

const [step, nText, kind, dirArg, pgUrl] = process.argv.slice(2);
const n = Number(nText);
const churn = Math.floor(n / 200); // 0.5% removed + 0.5% added = 1%
const dir = dirArg ?? mkdtempSync(join(tmpdir(), "coho-bench-plan-"));

// Desired members: ids churn..n+churn-1; recorded snapshot: ids 0..n-1.
const sql = kind === "duckdb" ? "select user_id from read_parquet('desired.parquet')" : "select user_id from bench_desired";
// pushdown: a PostgreSQL source whose database also holds the state.
const stateBlock = kind === "pushdown" ? "state:\n  backend: postgres\n  url: ${env:PG_URL}\n" : "";
const env = { K1: "k1-bench", K2: "k2-bench", ...(pgUrl ? { PG_URL: pgUrl } : {}) };
if (step === "setup") {
writeFileSync(
  join(dir, "coho.yaml"),
  `version: 1
${stateBlock}${kind !== "duckdb" ? "sources:\n  pg:\n    type: postgres\n    url: ${env:PG_URL}\n" : ""}destinations:
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
const project = loadProject(dir, { env }).project!;
{
  // The recorded state: a snapshot of ids 0..n-1 and its lockfile.
  const session = await openSession(project);
  await session.engine.connection.run(`CREATE TABLE memory.main.recorded AS SELECT 'external_id:u' || range AS key FROM range(0, ${n})`);
  const backend = session.backend;
  const saved = await backend.saveSnapshot(session.engine, "bench-cohort", "SELECT key FROM memory.main.recorded");
  const doc: LockfileDoc = {
    format: "coho-lock", version: 1, lineage: "bench", serial: 1,
    cohorts: {
      "cohorts.c": {
        destination: "braze", cohort_id: "bench-cohort", name: "Bench", prevent_destroy: false,
        identifier: { name: "user_id", type: "external_id", column: "user_id" },
        model: { name: "m", sql, sql_digest: sqlDigest(sql) },
        members: { count: saved.count, digest: saved.digest }, snapshot: saved.snapshot, applied_at: new Date().toISOString(),
      },
    },
  };
  await backend.write(doc);
  await session.close();
}
process.stdout.write(`${JSON.stringify({ dir })}\n`);
process.exit(0);
}

const project = loadProject(dir, { env }).project!;
if (step === "coho") {
// coho: the whole plan (state read and verified, model run, keys extracted, diffed).
const start = performance.now();
const session = await openSession(project);
const planned = await buildPlan({ project, backend: session.backend, engine: session.engine, sources: session.sources, options: { targets: [], allowRemovals: false, showMembers: 0 } });
const cohoSeconds = (performance.now() - start) / 1000;
const members = planned.plan.cohorts[0]!.members;
await session.close();
process.stdout.write(
  `${JSON.stringify({ members: n, add: members.add, remove: members.remove, coho_s: Number(cohoSeconds.toFixed(2)), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
process.exit(0);
}

// The floor: DuckDB alone, same files, the same two set differences.
const snapshot = (await new LocalBackend(dir).read()).cohorts["cohorts.c"]!.snapshot;
const start = performance.now();
const floor = await DuckDBInstance.create(":memory:", { memory_limit: "1GB" });
const f = await floor.connect();
await f.run(`CREATE TABLE d AS SELECT 'external_id:' || user_id AS key FROM read_parquet('${join(dir, "desired.parquet")}')`);
await f.run(`CREATE TABLE s AS SELECT key FROM read_parquet('${join(dir, snapshot)}')`);
const r = await f.runAndReadAll("SELECT (SELECT count(*) FROM (SELECT key FROM d EXCEPT SELECT key FROM s)), (SELECT count(*) FROM (SELECT key FROM s EXCEPT SELECT key FROM d))");
const [add, remove] = r.getRows()[0]!.map(Number);
const floorSeconds = (performance.now() - start) / 1000;
f.closeSync();
floor.closeSync();
process.stdout.write(`${JSON.stringify({ add, remove, floor_s: Number(floorSeconds.toFixed(2)), floor_peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
