import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["test/**/*.test.ts"],
    // End-to-end tests spawn the built CLI and real servers: give them room on a
    // shared 2-core machine. No test asserts on time.
    testTimeout: 60_000,
    // Three files at a time on two cores (vitest's default here would be one:
    // cores − 1). Most e2e time is spent waiting on child processes, sockets and
    // the emulators' deliberate latency: two files took 462 s wall, three 346 s
    // (same machine, same hour), using 1.8 of the 2 cores; a fourth would only queue
    // on the CPU. Files must not share mutable resources: every project
    // lives in its own temporary folder (PostgreSQL: its own database), every
    // emulator listens on a free port (examples get one through
    // COHO_EMULATOR_PORT), and each example folder is run by exactly one file.
    maxWorkers: 3,
    // Files share their worker process instead of each starting a fresh one: a
    // fresh process per file re-loaded DuckDB, pg and the test helpers 121 times
    // (unit and integration alone: 48 s → 31 s wall, 87 → 54 s CPU). Nothing a
    // file does is left for the next: projects, emulators and servers are per
    // file, no test changes process.env or the working directory, and coho's one
    // process-wide state (remembered secrets) is reset before each file
    // (test/helpers/file-setup.ts).
    isolate: false,
    setupFiles: ["test/helpers/file-setup.ts"],
    hookTimeout: 120_000,
    globalSetup: ["test/helpers/global-setup.ts"],
  },
});
