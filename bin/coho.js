#!/usr/bin/env node
"use strict";
/**
 * coho's command: loads the CLI bundled into dist/bundle/coho.cjs (built by
 * scripts/bundle-cli.mjs: `npm run build`, which `npm pack` runs at `prepack`) with
 * V8's code cache: the build runs one command through the bundle and saves the
 * compiled code beside it (coho.cjs.v8cache), so a start-up deserializes the
 * functions it needs instead of parsing and compiling ~0.8 MB of JavaScript.
 * Node 20 has no module.enableCompileCache (Node 22); vm.Script's cachedData is
 * the supported way. A cache made by another Node or V8 version is rejected by
 * V8 (cachedDataRejected) and the code is compiled as usual: only slower.
 *
 * The loader lives here, not in a module of its own, because every module Node
 * resolves, reads and compiles before the bundle is start-up time; the build and
 * the tests require this file for compileCli and writeCodeCache, and it runs the
 * CLI only when it is the program. It is CommonJS (bin/package.json) so that Node
 * starts without its ES module loader.
 */
const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { Script } = require("node:vm");

const BUNDLE_DIR = join(__dirname, "..", "dist", "bundle");
const BUNDLE = join(BUNDLE_DIR, "coho.cjs");
const CODE_CACHE = `${BUNDLE}.v8cache`;

/** Compiles and runs the bundle as a CommonJS module; `script` can make or judge the cache. */
function compileCli() {
  let cachedData;
  try {
    cachedData = readFileSync(CODE_CACHE);
  } catch {
    cachedData = undefined; // a build without a cache: compile from source
  }
  // latin1: the build checks the bundle is pure ASCII, so this is the exact text,
  // read as V8's one-byte string without UTF-8 decoding. The file is the CommonJS
  // wrapper function itself (scripts/bundle-cli.mjs), so it compiles as read.
  let source;
  try {
    source = readFileSync(BUNDLE, "latin1");
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
    // A clone after `npm ci`: the package is built when packed, not when installed.
    process.stderr.write("coho is not built: run `npm run build` in its folder (a package from `npm pack` carries the build).\n");
    process.exit(1);
  }
  const script = new Script(source, { filename: BUNDLE, cachedData });
  const module = { exports: {} };
  // This file's require: the bundle requires only Node's modules and packages of
  // node_modules, which resolve alike from bin/ and dist/bundle/.
  script.runInThisContext()(module.exports, require, module, BUNDLE, BUNDLE_DIR);
  return { cli: module.exports, script, cacheRejected: cachedData === undefined || script.cachedDataRejected === true };
}

/** For the build: the code V8 compiled so far (call after a warm-up run), written beside the bundle. */
function writeCodeCache(script) {
  writeFileSync(CODE_CACHE, script.createCachedData());
}

if (require.main === module) {
  const { main, reportStalled } = compileCli().cli;
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
} else {
  module.exports = { compileCli, writeCodeCache, BUNDLE, CODE_CACHE };
}
