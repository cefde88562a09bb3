"use strict";
/**
 * Loads the bundled CLI (dist/bundle/coho.cjs, built by scripts/bundle-cli.mjs)
 * with V8's code cache: the build runs one command through the bundle and saves
 * the compiled code beside it (coho.cjs.v8cache), so a start-up deserializes the
 * functions it needs instead of parsing and compiling ~900 KB of JavaScript.
 * Node 20 has no module.enableCompileCache (Node 22); vm.Script's cachedData is
 * the supported way. A cache made by another Node or V8 version is rejected by
 * V8 (cachedDataRejected) and the code is compiled as usual: only slower.
 */
const { readFileSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname, join } = require("node:path");
const { Script } = require("node:vm");

const BUNDLE = join(__dirname, "..", "dist", "bundle", "coho.cjs");
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
  // read as V8's one-byte string without UTF-8 decoding.
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(BUNDLE, "latin1")}\n})`;
  const script = new Script(wrapped, { filename: BUNDLE, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return { cli: module.exports, script, cacheRejected: cachedData === undefined || script.cachedDataRejected === true };
}

/** The CLI's exports: main(argv, io?) and reportStalled(). */
function loadCli() {
  return compileCli().cli;
}

/** For the build: the code V8 compiled so far (call after a warm-up run), written beside the bundle. */
function writeCodeCache(script) {
  writeFileSync(CODE_CACHE, script.createCachedData());
}

module.exports = { compileCli, loadCli, writeCodeCache, BUNDLE, CODE_CACHE };
