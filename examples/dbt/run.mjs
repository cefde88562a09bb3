#!/usr/bin/env node
// Cohorts on dbt models, end to end: build warehouse.duckdb from warehouse.sql (the
// relations `dbt build` would leave), start the local Braze emulator, then
// `coho validate`, `coho plan`, `coho apply` and `coho dbt exposures`. Run it again
// after editing warehouse.sql or the manifest to see coho send only the difference.
// Nothing outside this machine is contacted.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { startEmulator } from "../../dist/emulator/server.js";

const here = dirname(fileURLToPath(import.meta.url));
const coho = join(here, "..", "..", "bin", "coho.js");

if (process.argv.includes("--reset")) {
  // Forget coho's state and the emulator's together, so they stay consistent.
  rmSync(join(here, "coho.lock"), { force: true });
  rmSync(join(here, ".coho"), { recursive: true, force: true });
  console.log("Reset: coho.lock and .coho/ removed.");
}

// The warehouse dbt built, from a committed script rather than a binary file.
const warehouse = join(here, "warehouse.duckdb");
rmSync(warehouse, { force: true });
rmSync(`${warehouse}.wal`, { force: true });
const db = await DuckDBInstance.create(warehouse);
const connection = await db.connect();
await connection.run(readFileSync(join(here, "warehouse.sql"), "utf8"));
connection.closeSync();
db.closeSync();
console.log("Built warehouse.duckdb from warehouse.sql.");

// A fixed port (coho.lock records which endpoint each cohort lives at), and Braze's
// state in .coho/, so later runs continue where this one ends.
let emulator;
try {
  emulator = await startEmulator({ port: 4011, statePath: join(here, ".coho", "emulator-state.json") });
} catch (error) {
  if (error.code === "EADDRINUSE") {
    console.error("Port 4011 is taken. Stop whatever listens there (another run of this example?) and run again.");
    process.exit(1);
  }
  throw error;
}
console.log(`Local Braze emulator on ${emulator.url}`);

function run(args) {
  console.log(`\n$ coho ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [coho, "-C", here, ...args], { stdio: "inherit" });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

let code = 1;
try {
  code = await run(["validate"]);
  if (code === 0) code = await run(["plan"]);
  if (code === 0) code = await run(["apply", "--auto-approve"]);
  if (code === 0) code = await run(["dbt", "exposures", "--out", join(here, "dbt_project", "models", "coho_exposures.yml")]);
  console.log("\nWhat Braze holds now (from the emulator):");
  for (const [id, cohort] of emulator.workspace.cohorts) {
    const members = cohort.members.displayKeys();
    console.log(`  ${cohort.name} (${id}): ${members.length} members${members.length ? `, e.g. ${members.slice(0, 3).join(", ")}` : ""}`);
  }
} finally {
  await emulator.close();
}
process.exitCode = code;
