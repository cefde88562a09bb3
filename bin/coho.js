#!/usr/bin/env node
// Thin runner: the CLI is bundled into dist/bundle/ by `npm run build` (which
// `npm ci` runs through the `prepare` script): a few files load much faster
// than the ~100 modules of dist/cli/ and their dependencies.
import { main, reportStalled } from "../dist/bundle/coho.mjs";

// If the event loop empties while main() is still pending (a driver that never
// calls back after its connection died), Node would exit 13 with no word; a CI
// step that only fails on 1 would go green. Say so and exit 1 instead.
let finished = false;
process.on("beforeExit", () => {
  if (!finished) process.exit(reportStalled());
});
process.exitCode = await main(process.argv);
finished = true;
