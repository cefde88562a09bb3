#!/usr/bin/env node
// The quickstart, end to end: start the local Braze emulator, `coho plan`, `coho apply`,
// then show what "Braze" now holds. Run it again after editing data/*.csv or coho.yaml
// to see coho send exactly the difference. Nothing outside this machine is contacted.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulator } from "../../dist/emulator/server.js";

const here = dirname(fileURLToPath(import.meta.url));
const coho = join(here, "..", "..", "bin", "coho.js");

function run(args) {
  console.log(`\n$ coho ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [coho, "-C", here, ...args], { stdio: "inherit" });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

if (process.argv.includes("--reset")) {
  // Forget coho's state and the emulator's together, so they stay consistent.
  rmSync(join(here, "coho.lock"), { force: true });
  rmSync(join(here, ".coho"), { recursive: true, force: true });
  console.log("Reset: coho.lock and .coho/ removed.");
}

let emulator;
try {
  // Braze's state lives in .coho/ beside coho.lock, so later runs continue where this one ends.
  emulator = await startEmulator({ port: 4010, statePath: join(here, ".coho", "emulator-state.json") });
} catch (error) {
  if (error.code === "EADDRINUSE") {
    console.error("Port 4010 is taken. Stop whatever listens there (another `coho emulator`?) and run again.");
    process.exit(1);
  }
  throw error;
}
console.log(`Local Braze emulator on ${emulator.url}`);
let code = 1;
try {
  code = await run(["plan"]);
  if (code === 0) code = await run(["apply", "--auto-approve"]);
  console.log("\nWhat Braze holds now (from the emulator):");
  for (const [id, cohort] of emulator.workspace.cohorts) {
    const members = cohort.members.displayKeys();
    const sample = members.slice(0, 4).join(", ");
    console.log(`  ${cohort.name} (${id}): ${members.length} members${sample ? `, e.g. ${sample}` : ""}`);
  }
  console.log("\nNext: edit examples/quickstart/data/users.csv (flip a newsletter flag) and run `npm run quickstart` again.");
} finally {
  await emulator.close();
}
process.exitCode = code;
