/**
 * `npm run bench`: measurements that tests must not make (these machines are
 * shared and noisy, so tests never assert on time). Each scenario runs in its own
 * process; results are printed as a table and written to test/bench/results.json.
 *
 *   npm run bench                 everything
 *   npm run bench -- stream       only the source-streaming scenarios
 *   BENCH_QUICK=1 npm run bench   smaller sizes, for a smoke run
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
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

const benches: Record<string, () => Promise<void>> = { stream: streamBench };
for (const [name, bench] of Object.entries(benches)) {
  if (only && only !== name) continue;
  console.error(`== ${name}`);
  await bench();
}

const machine = `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.versions.node}`;
const columns = [...new Set(results.flatMap((r) => Object.keys(r)))];
const table = [columns.join(" | "), columns.map(() => "---").join(" | "), ...results.map((r) => columns.map((c) => String(r[c] ?? "")).join(" | "))];
console.log(`Machine: ${machine}\n`);
console.log(table.map((l) => `| ${l} |`).join("\n"));
writeFileSync(join(here, "results.json"), `${JSON.stringify({ machine, quick, results }, null, 2)}\n`);
