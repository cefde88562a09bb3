/**
 * Preloaded (NODE_OPTIONS=--import) into every measured process, coho's and the
 * floors' alike: at exit it appends the process's peak RSS (MB) to the file named
 * by COHO_BENCH_RSS_FILE and, when COHO_BENCH_CPU_FILE is set, its CPU time (ms,
 * user + system, all threads) to that file, so whole processes are measured
 * without wrapping them.
 */
import { appendFileSync } from "node:fs";

const file = process.env.COHO_BENCH_RSS_FILE;
const cpuFile = process.env.COHO_BENCH_CPU_FILE;
process.on("exit", () => {
  const usage = process.resourceUsage();
  if (file) appendFileSync(file, `${Math.round(usage.maxRSS / 1024)}\n`);
  if (cpuFile) appendFileSync(cpuFile, `${Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000)}\n`);
});
