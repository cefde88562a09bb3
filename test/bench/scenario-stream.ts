/**
 * One streaming measurement, run in its own process so peak RSS is its own:
 *   tsx test/bench/scenario-stream.ts duckdb|postgres ROWS [PG_URL]
 * Prints one JSON line: rows, seconds, rows_per_s, peak_rss_mb.
 */
import { performance } from "node:perf_hooks";
import type { ModelConfig } from "../../src/model/project.js";
import { Secret } from "../../src/model/secret.js";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { DuckDbSource } from "../../src/sources/duckdb/duckdb-source.js";
import { PostgresSource } from "../../src/sources/postgres/postgres-source.js";

const [kind, rowsText, pgUrl] = process.argv.slice(2);
const rows = Number(rowsText);
const origin = { file: "bench", line: 1, column: 1 };
const model = (sql: string): ModelConfig => ({ name: "bench", source: "s", primaryKey: undefined, sql, sqlOrigin: origin, origin });

const engine = await DuckDbEngine.create({ projectDir: process.cwd() });
const source =
  kind === "duckdb"
    ? new DuckDbSource({ type: "duckdb", name: "s", path: undefined, origin }, engine)
    : new PostgresSource({ type: "postgres", name: "s", url: new Secret(pgUrl ?? "", "PG_URL"), ssl: { mode: "disable", caFile: undefined }, statementTimeoutMs: 0, origin });
const sql = kind === "duckdb" ? `select 'user-' || range as user_id, range % 7 as bucket from range(${rows})` : `select user_id, bucket from bench_rows limit ${rows}`;

const start = performance.now();
let seen = 0;
for await (const batch of source.stream(model(sql))) seen += batch.rows.length;
const seconds = (performance.now() - start) / 1000;
await source.close();
await engine.close();
const result = { rows: seen, seconds: Number(seconds.toFixed(2)), rows_per_s: Math.round(seen / seconds), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
process.stdout.write(`${JSON.stringify(result)}\n`);
