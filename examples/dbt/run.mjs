#!/usr/bin/env node
// Cohorts on dbt models, end to end: build warehouse.duckdb from warehouse.sql (the
// relations `dbt build` would leave), start the local Braze emulator, then
// `coho validate`, `coho plan`, `coho apply` and `coho dbt exposures`. Run it again
// after editing warehouse.sql or the manifest to see coho send only the difference.
// Nothing outside this machine is contacted.
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { cohoIn, resetIfAsked, startExampleEmulator } from "../example-runner.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const run = cohoIn(here);
resetIfAsked(here);

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

const emulator = await startExampleEmulator(here);

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
