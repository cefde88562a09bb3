#!/usr/bin/env node
// The /users/track road, end to end: start the local Braze emulator, `coho plan`,
// `coho apply`, `coho verify`, then show the attributes "Braze" now holds. Run it
// again after editing data/*.csv or coho.yaml to see coho send exactly the
// difference. Nothing outside this machine is contacted.
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
  emulator = await startEmulator({ port: 4012, statePath: join(here, ".coho", "emulator-state.json") });
} catch (error) {
  if (error.code === "EADDRINUSE") {
    console.error("Port 4012 is taken. Stop whatever listens there and run again.");
    process.exit(1);
  }
  throw error;
}
console.log(`Local Braze emulator on ${emulator.url} (REST API key only: no partner key needed)`);
let code = 1;
try {
  code = await run(["plan"]);
  if (code === 0) code = await run(["apply", "--auto-approve"]);
  if (code === 0) code = await run(["verify"]);
  console.log("\nWhat Braze holds now (custom attributes, from the emulator):");
  const users = [...emulator.workspace.profiles.attributes].sort(([a], [b]) => (a < b ? -1 : 1));
  const count = (test) => users.filter(([, custom]) => test(custom)).length;
  console.log(`  coho_vip = true: ${count((c) => c.coho_vip === true)} users`);
  for (const value of ["recent_buyers", "newsletter"]) {
    console.log(`  coho_cohorts includes "${value}": ${count((c) => Array.isArray(c.coho_cohorts) && c.coho_cohorts.includes(value))} users`);
  }
  for (const [key, custom] of users.slice(0, 3)) console.log(`  e.g. ${key}: ${JSON.stringify(custom)}`);
  console.log("\nNext: edit examples/attributes/data/orders.csv and run `npm run example:attributes` again.");
} finally {
  await emulator.close();
}
process.exitCode = code;
