#!/usr/bin/env node
// Thin runner: the compiled CLI lives in dist/ (built by `npm run build`, which
// `npm ci` runs through the `prepare` script).
import { main, reportStalled } from "../dist/cli/main.js";

// If the event loop empties while main() is still pending (a driver that never
// calls back after its connection died), Node would exit 13 with no word; a CI
// step that only fails on 1 would go green. Say so and exit 1 instead.
let finished = false;
process.on("beforeExit", () => {
  if (!finished) process.exit(reportStalled());
});
process.exitCode = await main(process.argv);
finished = true;
