#!/usr/bin/env node
// Thin runner: the CLI is bundled into dist/bundle/ by `npm run build` (which
// `npm ci` runs through the `prepare` script) and loaded with V8's code cache
// (load-cli.cjs): much faster to start than ~100 separate modules.
import { createRequire } from "node:module";

const { main, reportStalled } = createRequire(import.meta.url)("./load-cli.cjs").loadCli();

// If the event loop empties while main() is still pending (a driver that never
// calls back after its connection died), Node would exit 13 with no word; a CI
// step that only fails on 1 would go green. Say so and exit 1 instead.
let finished = false;
process.on("beforeExit", () => {
  if (!finished) process.exit(reportStalled());
});
process.exitCode = await main(process.argv);
finished = true;
