/**
 * Preloaded (NODE_OPTIONS=--import) into every measured process, coho's and the
 * floors' alike: at exit it appends the process's peak RSS (MB) to the file named
 * by COHO_BENCH_RSS_FILE, so whole processes are measured without wrapping them.
 */
import { appendFileSync } from "node:fs";

const file = process.env.COHO_BENCH_RSS_FILE;
if (file) process.on("exit", () => appendFileSync(file, `${Math.round(process.resourceUsage().maxRSS / 1024)}\n`));
