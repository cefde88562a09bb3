#!/usr/bin/env node
// The /users/track road, end to end: start the local Braze emulator, `coho plan`,
// `coho apply`, `coho verify`, then show the attributes "Braze" now holds. Run it
// again after editing data/*.csv or coho.yaml to see coho send exactly the
// difference. Nothing outside this machine is contacted.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { cohoIn, resetIfAsked, startExampleEmulator } from "../example-runner.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const run = cohoIn(here);
resetIfAsked(here);
const emulator = await startExampleEmulator(here);
console.log("(REST API key only: no partner key needed)");
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
  for (const month of ["2026-09", "2026-10", "2026-11"]) {
    console.log(`  coho_order_months includes "${month}": ${count((c) => Array.isArray(c.coho_order_months) && c.coho_order_months.includes(month))} users`);
  }
  for (const [key, custom] of users.slice(0, 3)) console.log(`  e.g. ${key}: ${JSON.stringify(custom)}`);
  console.log("\nNext: edit examples/attributes/data/orders.csv and run `npm run example:attributes` again.");
} finally {
  await emulator.close();
}
process.exitCode = code;
