#!/usr/bin/env node
// coho as a library: plan and apply the quickstart from a program (an Airflow,
// Dagster or Prefect task would look the same), against the local Braze emulator.
// It works on a copy of examples/quickstart in a temporary folder, so it never
// disturbs `npm run quickstart`, and the emulator listens on a free port.
//
//   npm run build && node examples/api/apply-quickstart.mjs
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CohoError, apply, plan, startEmulator } from "../../dist/index.js";

const quickstart = join(dirname(fileURLToPath(import.meta.url)), "..", "quickstart");
const dir = mkdtempSync(join(tmpdir(), "coho-api-example-"));
cpSync(quickstart, dir, { recursive: true, filter: (src) => !src.includes(".coho") && !src.endsWith("coho.lock") });

const emulator = await startEmulator({ port: 0 });
// The quickstart's rest_endpoint reads the port from COHO_EMULATOR_PORT.
const env = { ...process.env, COHO_EMULATOR_PORT: String(emulator.port) };

// Stop cleanly on Ctrl-C: requests in flight finish, state keeps what Braze acknowledged.
const controller = new AbortController();
process.once("SIGINT", () => controller.abort("SIGINT"));

try {
  // The secrets come from .env beside coho.yaml, the rest from `env` (default: process.env).
  const planned = await plan(dir, { env });
  console.log(`Plan: ${planned.summary.create} to create, +${planned.summary.members_add} / −${planned.summary.members_remove} members.`);

  const result = await apply(dir, {
    env,
    // Decide with the plan in hand; here: only when no cohort would lose members.
    approve: (p) => p.summary.members_remove === 0,
    signal: controller.signal,
    onEvent: (event) => {
      if (event.type === "cohort_done") console.log(`  ${event.address}: ${event.status}`);
      if (event.type === "retry") console.log(`  retrying (${event.reason})`);
    },
  });
  console.log(`Outcome: ${result.outcome}`);
  if (result.report) console.log(JSON.stringify(result.report, null, 2));
  process.exitCode = result.outcome === "applied" || result.outcome === "no_changes" ? 0 : 1;
} catch (error) {
  // Expected failures are CohoErrors with a stable code; anything else is a bug.
  if (!(error instanceof CohoError)) throw error;
  console.error(`${error.code}: ${error.message}${error.hint ? ` (${error.hint})` : ""}`);
  process.exitCode = 1;
} finally {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
}
