/**
 * Whole-process measurements for the benchmarks: wall time from spawn to exit and
 * peak RSS (reported by the preloaded peak-rss.mjs), plus medians with their spread.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const preload = pathToFileURL(join(here, "peak-rss.mjs")).href;

export interface ProcessRun {
  readonly seconds: number;
  readonly peakRssMb: number;
  /** User + system CPU time of the process (all threads): less sensitive than wall time to a busy machine. */
  readonly cpuMs: number;
  readonly stdout: string;
}

/** Runs `node ARGS` to completion; throws with its stderr when it fails. */
export function runNode(args: readonly string[], env: Record<string, string> = {}): ProcessRun {
  const dir = mkdtempSync(join(tmpdir(), "coho-bench-rss-"));
  const rssFile = join(dir, "rss");
  const cpuFile = join(dir, "cpu");
  try {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, {
      encoding: "utf8",
      maxBuffer: 1 << 26,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, NODE_OPTIONS: `--import=${preload}`, COHO_BENCH_RSS_FILE: rssFile, COHO_BENCH_CPU_FILE: cpuFile },
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0 && result.status !== 2) throw new Error(`node ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    const peaks = readFileSync(rssFile, "utf8").trim().split("\n").map(Number);
    const cpu = readFileSync(cpuFile, "utf8").trim().split("\n").map(Number);
    return { seconds, peakRssMb: Math.max(...peaks), cpuMs: cpu.reduce((a, b) => a + b, 0), stdout: result.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes of the files under `dir` (0 when it does not exist). */
export function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    try {
      total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
    } catch {
      // A spill file removed between listing and stat.
    }
  }
  return total;
}

/**
 * runNode for long runs that may spill: the process runs asynchronously while
 * `spillDir` is measured every 250 ms; `peakSpillMb` is the most it held at once.
 */
export async function runNodeSpilling(args: readonly string[], env: Record<string, string>, spillDir: string): Promise<ProcessRun & { peakSpillMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), "coho-bench-rss-"));
  const rssFile = join(dir, "rss");
  const cpuFile = join(dir, "cpu");
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, folderBytes(spillDir))), 250);
  try {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, NODE_OPTIONS: `--import=${preload}`, COHO_BENCH_RSS_FILE: rssFile, COHO_BENCH_CPU_FILE: cpuFile },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (status !== 0 && status !== 2) throw new Error(`node ${args.join(" ")} exited ${status}: ${stderr}`);
    const peaks = readFileSync(rssFile, "utf8").trim().split("\n").map(Number);
    const cpu = readFileSync(cpuFile, "utf8").trim().split("\n").map(Number);
    return { seconds, peakRssMb: Math.max(...peaks), cpuMs: cpu.reduce((a, b) => a + b, 0), stdout, peakSpillMb: Math.round(peak / 2 ** 20) };
  } finally {
    clearInterval(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: sorted.length };
}

/** "0.91 (0.85–1.02)": the median and the range, at `digits` decimals. */
export function formatSpread(s: Spread, digits = 2): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/**
 * Runs `a` and `b` alternately `runs` times (a, b, b, a, a, b, …) so that drift in
 * the machine's load falls on both; returns the samples of each and the per-run ratios a/b.
 */
export function paired<T extends { seconds: number }>(runs: number, a: () => T, b: () => T): { a: T[]; b: T[]; ratios: number[] } {
  const as: T[] = [];
  const bs: T[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      as.push(a());
      bs.push(b());
    } else {
      bs.push(b());
      as.push(a());
    }
  }
  return { a: as, b: bs, ratios: as.map((x, i) => x.seconds / bs[i]!.seconds) };
}
