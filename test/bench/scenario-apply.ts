/**
 * Apply against the emulator, in its own process (the emulator runs here, coho as
 * the real CLI in a child process):
 *   tsx test/bench/scenario-apply.ts sync N          initial sync of N members, then 1% churn
 *   tsx test/bench/scenario-apply.ts rate N LIMIT [ROAD] [RESPONSE_MS]
 *       N members against LIMIT requests/s (0: no limit). ROAD is `cohorts` (Cohort
 *       Import, 1 s windows, 1,000 identifiers a request; the default) or `track`
 *       (/users/track, 3 s windows of 3 × LIMIT, 75 objects a request).
 *       RESPONSE_MS: how long the emulator takes to answer each request.
 *   tsx test/bench/scenario-apply.ts many DIR LIMIT
 *       a copy of the project DIR (scenario-sets.ts many: 1,000 cohorts with 1% churn,
 *       state recorded) against LIMIT Cohort Import requests/s.
 * Prints one JSON line per measurement.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DuckDBInstance } from "@duckdb/node-api";
import { startEmulator } from "../../src/emulator/server.js";

const [mode, nText, limitText, roadText, responseText] = process.argv.slice(2);
const n = Number(nText);
const limit = Number(limitText ?? 0);
const road = roadText === "track" ? "track" : "cohorts";
const windowMs = road === "track" ? 3000 : 1000;
const responseTimeMs = Number(responseText ?? 0);
// BENCH_COHO_BIN: another build's bin/coho.js, to compare two builds against the same emulator code.
const bin = process.env.BENCH_COHO_BIN ?? join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..", "bin", "coho.js");

// /users/track alone: missing_profiles: wait (the default) would also read every
// addition back through /users/export/ids, 50 ids a request, interleaved with the
// sends. Braze limits that endpoint to 250 requests a minute, so there the read-back,
// not /users/track, bounds such an apply (plan states its duration); the emulator
// serves it unlimited, and on two cores its CPU halved the /users/track rate measured
// (1,350 → 650 requests/s unthrottled). BENCH_MISSING_PROFILES=wait measures that.
const missingProfiles = process.env.BENCH_MISSING_PROFILES ?? "ignore";
const emulator = await startEmulator({ port: 0, rateLimit: (limit * windowMs) / 1000, rateWindowMs: windowMs, responseTimeMs, logCapacity: 2_000_000, logBodyCapacity: 1000 });
const dir = mkdtempSync(join(tmpdir(), "coho-bench-apply-"));
writeFileSync(
  join(dir, "coho.yaml"),
  `version: 1
destinations:
  braze:
${
  road === "track"
    ? `    type: braze_attributes
    rest_endpoint: ${emulator.url}
    api_key: \${env:K3}
    missing_profiles: ${missingProfiles}`
    : `    type: braze_cohorts
    rest_endpoint: ${emulator.url}
    partner: coho-emulator
    partner_api_key: \${env:K1}
    data_import_key: \${env:K2}`
}
models:
  m:
    sql: select user_id from read_parquet('members.parquet')
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: Bench, destination: braze, model: m, identifier: user_id, guards: { max_removals: 100% }${road === "track" ? ", attribute: coho_bench" : ""} }
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
  // BENCH_EVENTS=1: coho's ndjson events; its retries (with their reasons) go to stderr.
  const output = process.env.BENCH_EVENTS ? ["--output", "ndjson"] : ["--json"];
  const profile = process.env.BENCH_COHO_CPU_PROF ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_COHO_CPU_PROF}`] : [];
  const { stdout } = await promisify(execFile)(process.execPath, [...profile, bin, "-C", dir, "apply", "--auto-approve", ...output], {
    env: { PATH: process.env.PATH ?? "", K1: emulator.credentials.partnerApiKey, K2: emulator.credentials.dataImportKey, K3: emulator.credentials.restApiKey, ...(process.env.COHO_CONCURRENCY ? { COHO_CONCURRENCY: process.env.COHO_CONCURRENCY } : {}) },
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  // --json prints one (indented) document; ndjson one event per line, the report last.
  const lines = stdout.trim().split("\n");
  if (process.env.BENCH_EVENTS) for (const line of lines) if (line.includes('"retry"')) console.error(line);
  const report = JSON.parse(process.env.BENCH_EVENTS ? lines.at(-1)! : stdout) as { report?: unknown };
  return { seconds: (performance.now() - start) / 1000, report: (process.env.BENCH_EVENTS ? report.report ?? report : report) as never };
}

function membershipLog(since: number) {
  return emulator.log.since(since).filter((r) => r.path.endsWith("/cohorts/users") || r.path === "/users/track");
}

/** Requests accepted per full one-second window (the first and last are partial): windows are aligned to whole seconds. */
function ratePerWindow(ok: readonly { at: string }[]): number {
  const perWindow = new Map<number, number>();
  for (const r of ok) perWindow.set(Math.floor(Date.parse(r.at) / 1000), (perWindow.get(Math.floor(Date.parse(r.at) / 1000)) ?? 0) + 1);
  const windows = [...perWindow.keys()].sort((a, b) => a - b).slice(1, -1);
  return windows.reduce((sum, w) => sum + perWindow.get(w)!, 0) / windows.length;
}

if (mode === "many") {
  // The many-cohort project, pointed at this emulator; its recorded state says every
  // cohort exists with its members, so apply sends only the churn: one request per cohort.
  const project = mkdtempSync(join(tmpdir(), "coho-bench-apply-many-"));
  cpSync(nText!, project, { recursive: true });
  const yaml = readFileSync(join(project, "coho.yaml"), "utf8").replace(/rest_endpoint: .*/, `rest_endpoint: ${emulator.url}`);
  writeFileSync(join(project, "coho.yaml"), yaml);
  const before = emulator.log.total;
  const start = performance.now();
  const profile = process.env.BENCH_COHO_CPU_PROF ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_COHO_CPU_PROF}`] : [];
  const { stdout } = await promisify(execFile)(process.execPath, [...profile, bin, "-C", project, "apply", "--auto-approve", "--json"], {
    env: { PATH: process.env.PATH ?? "", K1: emulator.credentials.partnerApiKey, K2: emulator.credentials.dataImportKey, ...(process.env.BENCH_COHO_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_COHO_NODE_OPTIONS, SQLTRACE_STDERR: "0" } : {}) },
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  const end = performance.now();
  const report = JSON.parse(stdout) as { cohorts: unknown[]; totals: { requests: number; added: number; removed: number } };
  const all = emulator.log.since(before);
  const log = all.filter((r) => r.path.endsWith("/cohorts/users"));
  const ok = log.filter((r) => r.status === 200);
  const refused = log.filter((r) => r.status === 429).length;
  const rate = ratePerWindow(ok);
  const first = Date.parse(all[0]!.at);
  const last = Date.parse(all.at(-1)!.at);
  // Wall time around the requests: planning before the first, folding state after the last.
  const startedAt = Date.now() - (end - start);
  console.log(JSON.stringify({
    scenario: `apply ${report.cohorts.length.toLocaleString("en")} cohorts, 1% churn, limit ${limit}/s`,
    requests: ok.length, changes: report.totals.added + report.totals.removed,
    achieved_per_s: Number(rate.toFixed(1)), fraction_of_limit: Number((rate / limit).toFixed(3)), share_429: Number((refused / Math.max(1, log.length)).toFixed(4)),
    apply_s: Number(((end - start) / 1000).toFixed(2)), sending_s: Number(((last - first) / 1000).toFixed(2)),
    before_first_request_s: Number(((first - startedAt) / 1000).toFixed(2)), after_last_request_s: Number(((startedAt + (end - start) - last) / 1000).toFixed(2)),
  }));
} else if (mode === "sync") {
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
  // CPU of each side while applying: this process (the emulator) and the coho child
  // (Linux: the waited-for children's times in /proc/self/stat, in clock ticks).
  const emulatorCpu = process.cpuUsage();
  const childTicks = childCpuTicks();
  await apply();
  const emulatorCpuMs = cpuMs(process.cpuUsage(emulatorCpu));
  const cohoCpuMs = childTicks === undefined ? Number.NaN : ((childCpuTicks()! - childTicks) * 1000) / 100; // USER_HZ: the unit of /proc's CPU times
  const log = membershipLog(before);
  const ok = log.filter((r) => typeof r.status === "number" && r.status >= 200 && r.status < 300);
  const refused = log.filter((r) => r.status === 429).length;
  // Requests accepted per window, over the full windows only (the first and last
  // are partial): the emulator's windows are aligned to the epoch, like Braze's.
  const perWindow = new Map<number, number>();
  for (const r of ok) {
    const w = Math.floor(Date.parse(r.at) / windowMs);
    perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
  }
  const windows = [...perWindow.keys()].sort((a, b) => a - b).slice(1, -1);
  // A fast unthrottled run may span fewer than three windows: then the rate over
  // the span from the first to the last accepted request.
  const span = ok.length > 1 ? (Date.parse(ok.at(-1)!.at) - Date.parse(ok[0]!.at)) / 1000 : 0;
  const rate = windows.length > 0 ? (windows.reduce((sum, w) => sum + perWindow.get(w)!, 0) / windows.length / windowMs) * 1000 : span > 0 ? (ok.length - 1) / span : Number.NaN;
  if (process.env.BENCH_WINDOWS) {
    // Per window: requests accepted, and when in the window the last one arrived (ms from its start).
    // A window that is short but whose last request came near its end was short of requests sent (the
    // machine or coho), not held back by the limiter, which waits only once the window is spent.
    const lastAt = new Map<number, number>();
    for (const r of ok) lastAt.set(Math.floor(Date.parse(r.at) / windowMs), Date.parse(r.at) % windowMs);
    console.error(JSON.stringify([...perWindow].map(([w, count]) => [count, lastAt.get(w)])), JSON.stringify(log.filter((r) => r.status === 429).map((r) => Date.parse(r.at) % 10_000)));
  }
  const label = `${road === "track" ? `/users/track (missing_profiles: ${missingProfiles})` : "Cohort Import"}, ${limit > 0 ? `rate limit ${limit}/s` : "no rate limit"}${responseTimeMs > 0 ? `, ${responseTimeMs} ms per answer` : ""}`;
  console.log(JSON.stringify({ scenario: label, members: n, requests: ok.length, achieved_per_s: Number(rate.toFixed(1)), fraction_of_limit: limit > 0 ? Number((rate / limit).toFixed(3)) : null, share_429: Number((refused / log.length).toFixed(4)),
    // CPU per 1,000 requests answered (coho's includes its plan and state work, a fixed cost per apply).
    coho_cpu_ms_per_1000: Math.round((cohoCpuMs * 1000) / log.length), emulator_cpu_ms_per_1000: Math.round((emulatorCpuMs * 1000) / log.length),
    coho_cpu_s: Number((cohoCpuMs / 1000).toFixed(2)), emulator_cpu_s: Number((emulatorCpuMs / 1000).toFixed(2)) }));
}
await emulator.close();

/** CPU used by this process's waited-for children (cutime + cstime), or undefined off Linux. */
function childCpuTicks(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 and 17 of proc(5), counted from the state field (3): indexes 13 and 14 here.
    return Number(fields[13]) + Number(fields[14]);
  } catch {
    return undefined;
  }
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}
