/**
 * Apply against the emulator, in its own process (the emulator runs here, coho as
 * the real CLI in a child process):
 *   tsx test/bench/scenario-apply.ts sync N          initial sync of N members, then 1% churn
 *   tsx test/bench/scenario-apply.ts rate N LIMIT    N members against LIMIT requests/s
 * Prints one JSON line per measurement.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DuckDBInstance } from "@duckdb/node-api";
import { startEmulator } from "../../src/emulator/server.js";

const [mode, nText, limitText] = process.argv.slice(2);
const n = Number(nText);
const limit = Number(limitText ?? 0);
const bin = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..", "bin", "coho.js");

const emulator = await startEmulator({ port: 0, rateLimit: limit, rateWindowMs: 1000, logCapacity: 2_000_000 });
const dir = mkdtempSync(join(tmpdir(), "coho-bench-apply-"));
writeFileSync(
  join(dir, "coho.yaml"),
  `version: 1
destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: ${emulator.url}
    partner: coho-emulator
    partner_api_key: \${env:K1}
    data_import_key: \${env:K2}
models:
  m:
    sql: select user_id from read_parquet('members.parquet')
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: Bench, destination: braze, model: m, identifier: user_id, guards: { max_removals: 100% } }
`,
);

async function members(from: number, to: number): Promise<void> {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  await c.run(`COPY (SELECT 'u' || range AS user_id FROM range(${from}, ${to})) TO '${join(dir, "members.parquet")}' (FORMAT parquet)`);
  c.closeSync();
  db.closeSync();
}

/** The real CLI in a child process; asynchronous, so this process's emulator keeps answering. */
async function apply(): Promise<{ seconds: number; report: { totals: { requests: number; retries: number; added: number; removed: number } } }> {
  const start = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, [bin, "-C", dir, "apply", "--auto-approve", "--json"], {
    env: { PATH: process.env.PATH ?? "", K1: emulator.credentials.partnerApiKey, K2: emulator.credentials.dataImportKey },
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  return { seconds: (performance.now() - start) / 1000, report: JSON.parse(stdout) };
}

function membershipLog(since: number) {
  return emulator.log.since(since).filter((r) => r.path.endsWith("/cohorts/users"));
}

if (mode === "sync") {
  await members(0, n);
  let before = emulator.log.total;
  const first = await apply();
  let log = membershipLog(before);
  const acked = log.filter((r) => r.status === 200);
  const span = (Date.parse(acked.at(-1)!.at) - Date.parse(acked[0]!.at)) / 1000 || Number.NaN;
  console.log(JSON.stringify({ scenario: "initial sync", members: n, requests: acked.length, optimum: Math.ceil(n / 1000), apply_s: Number(first.seconds.toFixed(2)), ids_per_s_sending: Math.round(n / span) }));
  const churn = Math.floor(n / 200);
  await members(churn, n + churn);
  before = emulator.log.total;
  const second = await apply();
  log = membershipLog(before);
  const changes = second.report.totals.added + second.report.totals.removed;
  console.log(JSON.stringify({ scenario: "1% churn", members: n, changes, requests: log.filter((r) => r.status === 200).length, optimum: Math.ceil(changes / 1000), apply_s: Number(second.seconds.toFixed(2)) }));
} else {
  await members(0, n);
  const before = emulator.log.total;
  await apply();
  const log = membershipLog(before);
  const ok = log.filter((r) => r.status === 200);
  const refused = log.filter((r) => r.status === 429).length;
  // Requests accepted per one-second window, over the full windows only (the first
  // and last are partial): the emulator's windows are aligned to whole seconds.
  const perWindow = new Map<number, number>();
  for (const r of ok) perWindow.set(Math.floor(Date.parse(r.at) / 1000), (perWindow.get(Math.floor(Date.parse(r.at) / 1000)) ?? 0) + 1);
  const windows = [...perWindow.keys()].sort((a, b) => a - b).slice(1, -1);
  const rate = windows.reduce((sum, w) => sum + perWindow.get(w)!, 0) / windows.length;
  if (process.env.BENCH_WINDOWS) console.error(JSON.stringify([...perWindow.values()]));
  console.log(JSON.stringify({ scenario: `rate limit ${limit}/s`, members: n, requests: ok.length, achieved_per_s: Number(rate.toFixed(1)), fraction_of_limit: Number((rate / limit).toFixed(3)), share_429: Number((refused / log.length).toFixed(4)) }));
}
await emulator.close();
