#!/usr/bin/env node
// The quickstart, end to end: start the local Braze emulator, `coho plan`, `coho apply`,
// then show what "Braze" now holds. Run it again after editing data/*.csv or coho.yaml
// to see coho send exactly the difference. Nothing outside this machine is contacted.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { cohoIn, resetIfAsked, startExampleEmulator } from "../example-runner.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const run = cohoIn(here);
resetIfAsked(here);
const emulator = await startExampleEmulator(here);
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
