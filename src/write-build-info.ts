/** Build step: records the commit and DuckDB version in dist/build-info.json for `coho version --json`. */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { BUILD_INFO_FILE } from "./build-info.js";

function gitCommit(): string | undefined {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: ["ignore", "pipe", "ignore"] }).toString().trim() || undefined;
  } catch {
    return undefined; // not built from a git checkout
  }
}

function duckdbVersion(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const manifest = require.resolve("@duckdb/node-api/package.json");
    return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
  } catch {
    return undefined;
  }
}

const info = { commit: gitCommit(), builtAt: new Date().toISOString(), duckdb: duckdbVersion() };
writeFileSync(fileURLToPath(new URL(`./${BUILD_INFO_FILE}`, import.meta.url)), `${JSON.stringify(info, null, 2)}\n`);
