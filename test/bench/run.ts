/**
 * `npm run bench`: measurements that tests must not make (these machines are
 * shared and noisy, so tests never assert on time). Each scenario runs in its own
 * process; results are printed as a table and written to test/bench/results.json.
 *
 *   npm run bench                 everything
 *   npm run bench -- plan         only one group: stream, plan, apply or startup
 *   BENCH_QUICK=1 npm run bench   smaller sizes, for a smoke run
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startCluster } from "../helpers/postgres-cluster.js";

const here = dirname(fileURLToPath(import.meta.url));
const tsx = join(here, "..", "..", "node_modules", ".bin", "tsx");
const quick = process.env.BENCH_QUICK === "1";
const only = process.argv[2];

interface Row {
  readonly scenario: string;
  readonly [key: string]: string | number;
}
const results: Row[] = [];

function runScenario(script: string, args: string[]): Record<string, number> {
  const output = execFileSync(tsx, [join(here, script), ...args], { encoding: "utf8", maxBuffer: 1 << 24 });
  const last = output.trim().split("\n").pop() ?? "{}";
  return JSON.parse(last) as Record<string, number>;
}

async function streamBench(): Promise<void> {
  const sizes = quick ? [100_000] : [1_000_000, 10_000_000];
  for (const rows of sizes) {
    results.push({ scenario: `stream duckdb ${rows.toLocaleString("en")} rows`, ...runScenario("scenario-stream.ts", ["duckdb", String(rows)]) });
  }
  const cluster = await startCluster();
  try {
    const pgRows = quick ? 100_000 : 1_000_000;
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    await client.query(`CREATE TABLE bench_rows AS SELECT 'user-' || g AS user_id, g % 7 AS bucket FROM generate_series(1, ${pgRows}) g`);
    await client.end();
    results.push({ scenario: `stream postgres ${pgRows.toLocaleString("en")} rows`, ...runScenario("scenario-stream.ts", ["postgres", String(pgRows), cluster.url]) });
  } finally {
    cluster.stop();
  }
}

function planStep(step: string, n: number, kind: string, dir: string, pgUrl?: string): Record<string, number> {
  return runScenario("scenario-plan.ts", [step, String(n), kind, dir, ...(pgUrl ? [pgUrl] : [])]);
}

async function planBench(): Promise<void> {
  const sizes = quick ? [100_000] : [1_000_000, 10_000_000];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), "coho-bench-plan-"));
    planStep("setup", n, "duckdb", dir);
    const coho = planStep("coho", n, "duckdb", dir);
    const floor = planStep("floor", n, "duckdb", dir);
    results.push({
      scenario: `plan ${n.toLocaleString("en")} members, 1% churn (duckdb)`,
      coho_s: coho.coho_s!,
      floor_s: floor.floor_s!,
      ratio: Number((coho.coho_s! / floor.floor_s!).toFixed(2)),
      peak_rss_mb: coho.peak_rss_mb!,
      target: n >= 10_000_000 ? "RSS < 1536 MB" : "ratio <= 2",
    });
    rmSync(dir, { recursive: true, force: true });
  }
  const n = quick ? 100_000 : 1_000_000;
  const cluster = await startCluster();
  try {
    const churn = Math.floor(n / 200);
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    await client.query(`CREATE TABLE bench_desired AS SELECT 'u' || g AS user_id FROM generate_series(${churn}, ${n + churn - 1}) g`);
    await client.end();
    const dir = mkdtempSync(join(tmpdir(), "coho-bench-plan-"));
    planStep("setup", n, "postgres", dir, cluster.url);
    const coho = planStep("coho", n, "postgres", dir, cluster.url);
    const duckDir = mkdtempSync(join(tmpdir(), "coho-bench-plan-"));
    planStep("setup", n, "duckdb", duckDir);
    const floor = planStep("floor", n, "duckdb", duckDir);
    results.push({
      scenario: `plan ${n.toLocaleString("en")} members, 1% churn (postgres, pulled through)`,
      coho_s: coho.coho_s!,
      floor_s: floor.floor_s!,
      ratio: Number((coho.coho_s! / floor.floor_s!).toFixed(2)),
      peak_rss_mb: coho.peak_rss_mb!,
      target: "",
    });
    const pushDir = mkdtempSync(join(tmpdir(), "coho-bench-plan-"));
    const stateDb = new pg.Client({ connectionString: cluster.url });
    await stateDb.connect();
    await stateDb.query("DROP SCHEMA IF EXISTS coho CASCADE");
    await stateDb.end();
    planStep("setup", n, "pushdown", pushDir, cluster.url);
    const pushed = planStep("coho", n, "pushdown", pushDir, cluster.url);
    results.push({
      scenario: `plan ${n.toLocaleString("en")} members, 1% churn (postgres, pushed down)`,
      coho_s: pushed.coho_s!,
      floor_s: floor.floor_s!,
      ratio: Number((pushed.coho_s! / floor.floor_s!).toFixed(2)),
      peak_rss_mb: pushed.peak_rss_mb!,
      target: "",
    });
  } finally {
    cluster.stop();
  }
}

async function applyBench(): Promise<void> {
  const n = quick ? 100_000 : 1_000_000;
  const out = execFileSync(tsx, [join(here, "scenario-apply.ts"), "sync", String(n)], { encoding: "utf8", maxBuffer: 1 << 24 });
  for (const line of out.trim().split("\n")) results.push(JSON.parse(line) as Row);
  const limit = 50;
  const rate = execFileSync(tsx, [join(here, "scenario-apply.ts"), "rate", String(quick ? 200_000 : 600_000), String(limit)], { encoding: "utf8" });
  results.push(JSON.parse(rate.trim().split("\n").pop()!) as Row);
}

/** `coho validate` on the quickstart against bare `node -e 0`: medians of 10 runs each. */
async function startupBench(): Promise<void> {
  const time = (args: string[]) => {
    const samples: number[] = [];
    for (let i = 0; i < 10; i++) {
      const start = process.hrtime.bigint();
      execFileSync(process.execPath, args, { stdio: "ignore" });
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return samples.sort((a, b) => a - b)[5]!;
  };
  const node = time(["-e", "0"]);
  const coho = time([join(here, "..", "..", "bin", "coho.js"), "-C", join(here, "..", "..", "examples", "quickstart"), "validate"]);
  results.push({ scenario: "start-up: coho validate (quickstart) vs node -e 0", coho_ms: Math.round(coho), node_ms: Math.round(node), ratio: Number((coho / node).toFixed(2)), target: "ratio <= 3" });
}

const benches: Record<string, () => Promise<void>> = { stream: streamBench, plan: planBench, apply: applyBench, startup: startupBench };
const groups = new Map<string, Row[]>();
for (const [name, bench] of Object.entries(benches)) {
  if (only && only !== name) continue;
  console.error(`== ${name}`);
  const before = results.length;
  await bench();
  groups.set(name, results.slice(before));
}

const machine = `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.versions.node}`;
console.log(`Machine: ${machine}`);
for (const [name, rows] of groups) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const table = [columns.join(" | "), columns.map(() => "---").join(" | "), ...rows.map((r) => columns.map((c) => String(r[c] ?? "")).join(" | "))];
  console.log(`\n${name}\n${table.map((l) => `| ${l} |`).join("\n")}`);
}
writeFileSync(join(here, "results.json"), `${JSON.stringify({ machine, quick, results }, null, 2)}\n`);
