/**
 * Projects for the many-cohort benchmarks, each written by its own process:
 *   tsx test/bench/scenario-sets.ts set    INSTANCES PER DIR   one set of INSTANCES instances × PER members
 *   tsx test/bench/scenario-sets.ts single INSTANCES PER DIR   one cohort of the same INSTANCES × PER member rows
 *   tsx test/bench/scenario-sets.ts many   COHORTS   PER DIR   COHORTS ordinary cohorts over 10 models of PER members
 *   tsx test/bench/scenario-sets.ts floor  COHORTS   PER DIR   the same diffs as `many`, in one bare DuckDB process
 * Every cohort has 1% churn against its recorded snapshot (0.5% leave, 0.5% join).
 * Setup steps print {"dir"}; floor prints {"floor_s", "add", "remove"}.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { CohortState, LockfileDoc } from "../../src/model/state.js";

const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { loadProject } = (await import(dist("config/load-project.js"))) as typeof import("../../src/config/load-project.js");
const { sqlDigest } = (await import(dist("plan/config-digest.js"))) as typeof import("../../src/plan/config-digest.js");
// Recorded exactly as apply records them (count, digest, snapshot and the file's SHA-256).
const { snapshotFields } = (await import(dist("state/snapshot-record.js"))) as typeof import("../../src/state/snapshot-record.js");
const { openSession } = (await import(dist("plan/session.js"))) as typeof import("../../src/plan/session.js");
const { instanceAddress } = (await import(dist("model/address.js"))) as typeof import("../../src/model/address.js");

const [step, countText, perText, dir] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countText);
const per = Number(perText);
const churn = Math.max(1, Math.floor(per / 200));
const MODELS = 10;
export const BENCH_ENV = { K1: "k1-bench", K2: "k2-bench" };

const header = `version: 1
destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: http://127.0.0.1:4010
    partner: coho-emulator
    partner_api_key: \${env:K1}
    data_import_key: \${env:K2}
identifiers:
  user_id: { type: external_id, column: user_id }
`;
const pad = (i: number) => String(i).padStart(4, "0");

/**
 * Group j's desired members: its ids j*per+churn … (j+1)*per-1 plus `churn` new
 * ids above count*per; its recorded members: ids j*per … (j+1)*per-1.
 */
const desiredSql = (groups: number) => `
  SELECT range // ${per} AS j, 'u' || range AS user_id FROM range(0, ${groups * per}) WHERE range % ${per} >= ${churn}
  UNION ALL SELECT (range - ${groups * per}) // ${churn} AS j, 'u' || range AS user_id FROM range(${groups * per}, ${groups * per + groups * churn})`;
const recordedSql = (groups: number) => `SELECT range // ${per} AS j, 'external_id:u' || range AS key FROM range(0, ${groups * per})`;

async function writeParquet(sql: string, file: string): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  await connection.run(`COPY (${sql}) TO '${join(dir, file)}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
}

/** Writes the recorded state: one snapshot per address, from group `groupOf(address)` of recordedSql. */
async function writeState(entries: readonly { address: string; group: number; name: string; model: string; sql: string }[], groups: number): Promise<void> {
  const project = loadProject(dir, { env: BENCH_ENV }).project!;
  const session = await openSession(project);
  await session.engine.connection.run(`CREATE TABLE memory.main.recorded AS ${recordedSql(groups)}`);
  const cohorts: Record<string, CohortState> = {};
  for (const [i, e] of entries.entries()) {
    const cohortId = `bench-${pad(i)}`;
    const saved = await session.backend.saveSnapshot(session.engine, cohortId, `SELECT key FROM memory.main.recorded WHERE j = ${e.group}`);
    cohorts[e.address] = {
      destination: "braze", cohort_id: cohortId, name: e.name, prevent_destroy: false,
      identifier: { name: "user_id", type: "external_id", column: "user_id" },
      model: { name: e.model, sql: e.sql, sql_digest: sqlDigest(e.sql) },
      ...snapshotFields(saved), applied_at: new Date().toISOString(),
    };
  }
  const doc: LockfileDoc = { format: "coho-lock", version: 1, lineage: "bench", serial: 1, cohorts };
  await session.backend.write(doc);
  await session.close();
}

if (step === "set" || step === "single") {
  await writeParquet(`SELECT 'k' || lpad(CAST(j AS VARCHAR), 4, '0') AS k, user_id FROM (${desiredSql(count)})`, "desired.parquet");
  const sql = step === "set" ? "select k, user_id from read_parquet('desired.parquet')" : "select user_id from read_parquet('desired.parquet')";
  const cohort = step === "set"
    ? '  s:\n    name: "Set {key}"\n    destination: braze\n    model: m\n    identifier: user_id\n    for_each: { key: k }\n    guards: { max_removals: 100% }\n'
    : "  c:\n    name: Single\n    destination: braze\n    model: m\n    identifier: user_id\n    guards: { max_removals: 100% }\n";
  writeFileSync(join(dir, "coho.yaml"), `${header}models:\n  m:\n    sql: ${sql}\ncohorts:\n${cohort}`);
  if (step === "set") {
    const entries = Array.from({ length: count }, (_, j) => ({ address: instanceAddress("s", `k${pad(j)}`), group: j, name: `Set k${pad(j)}`, model: "m", sql }));
    await writeState(entries, count);
  } else {
    // One cohort holding every group's members: the same 10M rows, recorded as one snapshot.
    const project = loadProject(dir, { env: BENCH_ENV }).project!;
    const session = await openSession(project);
    const saved = await session.backend.saveSnapshot(session.engine, "bench-single", recordedSql(count).replace("range // " + per + " AS j, ", ""));
    const entry: CohortState = {
      destination: "braze", cohort_id: "bench-single", name: "Single", prevent_destroy: false,
      identifier: { name: "user_id", type: "external_id", column: "user_id" },
      model: { name: "m", sql, sql_digest: sqlDigest(sql) },
      ...snapshotFields(saved), applied_at: new Date().toISOString(),
    };
    await session.backend.write({ format: "coho-lock", version: 1, lineage: "bench", serial: 1, cohorts: { "cohorts.c": entry } });
    await session.close();
  }
  process.stdout.write(`${JSON.stringify({ dir })}\n`);
} else if (step === "many") {
  // Model i holds group i; cohort c uses model c % 10 and records group c % 10.
  for (let m = 0; m < MODELS; m++) await writeParquet(`SELECT user_id FROM (${desiredSql(MODELS)}) WHERE j = ${m}`, `model${m}.parquet`);
  const models = Array.from({ length: MODELS }, (_, m) => `  m${m}:\n    sql: select user_id from read_parquet('model${m}.parquet')\n`).join("");
  const cohorts = Array.from({ length: count }, (_, c) => `  c${pad(c)}:\n    name: Cohort ${pad(c)}\n    destination: braze\n    model: m${c % MODELS}\n    identifier: user_id\n`).join("");
  writeFileSync(join(dir, "coho.yaml"), `${header}models:\n${models}cohorts:\n${cohorts}`);
  const entries = Array.from({ length: count }, (_, c) => ({ address: `cohorts.c${pad(c)}`, group: c % MODELS, name: `Cohort ${pad(c)}`, model: `m${c % MODELS}`, sql: `select user_id from read_parquet('model${c % MODELS}.parquet')\n` }));
  await writeState(entries, MODELS);
  process.stdout.write(`${JSON.stringify({ dir })}\n`);
} else if (step === "floor") {
  // The same per-cohort diffs, by hand in one DuckDB process: every model, every snapshot, two EXCEPTs grouped by cohort.
  const lock = JSON.parse((await import("node:fs")).readFileSync(join(dir, "coho.lock"), "utf8")) as LockfileDoc;
  const files = Object.entries(lock.cohorts).map(([address, e]) => [address, join(dir, e.snapshot)] as const);
  const start = performance.now();
  const instance = await DuckDBInstance.create(":memory:", { memory_limit: "1GB" });
  const f = await instance.connect();
  await f.run(`CREATE TABLE map AS SELECT * FROM (VALUES ${files.map(([a, p], c) => `('${p}', ${c}, ${c % MODELS})`).join(", ")}) AS t(path, cohort, model)`);
  await f.run(`CREATE TABLE d AS ${Array.from({ length: MODELS }, (_, m) => `SELECT ${m} AS model, 'external_id:' || user_id AS key FROM read_parquet('${join(dir, `model${m}.parquet`)}')`).join(" UNION ALL ")}`);
  await f.run(`CREATE TABLE s AS SELECT map.cohort, p.key FROM read_parquet([${files.map(([, p]) => `'${p}'`).join(", ")}], filename = true) AS p JOIN map ON p.filename = map.path`);
  await f.run("CREATE TABLE dc AS SELECT map.cohort, d.key FROM d JOIN map USING (model)");
  const r = await f.runAndReadAll("SELECT (SELECT count(*) FROM (SELECT cohort, key FROM dc EXCEPT SELECT cohort, key FROM s)), (SELECT count(*) FROM (SELECT cohort, key FROM s EXCEPT SELECT cohort, key FROM dc))");
  const [add, remove] = r.getRows()[0]!.map(Number);
  const seconds = (performance.now() - start) / 1000;
  f.closeSync();
  instance.closeSync();
  process.stdout.write(`${JSON.stringify({ floor_s: Number(seconds.toFixed(2)), add, remove })}\n`);
}
process.exit(0);
