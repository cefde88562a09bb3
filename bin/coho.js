#!/usr/bin/env node
// Thin runner: the CLI is bundled into dist/bundle/ by `npm run build` (which
// `npm ci` runs through the `prepare` script) and loaded with V8's code cache
// (load-cli.cjs): much faster to start than ~100 separate modules. This file is
// CommonJS (bin/package.json) so that Node starts without its ES module loader,
// a few milliseconds of every command's start-up.
"use strict";

const { main, reportStalled } = require("./load-cli.cjs").loadCli();

// If the event loop empties while main() is still pending (a driver that never
// calls back after its connection died), Node would exit 13 with no word; a CI
// step that only fails on 1 would go green. Say so and exit 1 instead.
let finished = false;
process.on("beforeExit", () => {
  if (!finished) process.exit(reportStalled());
});
main(process.argv).then((code) => {
  process.exitCode = code;
  finished = true;
});
