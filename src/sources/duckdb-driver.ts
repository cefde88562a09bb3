import { createRequire } from "node:module";

type DuckDbApi = typeof import("@duckdb/node-api");

// The CLI bundle (scripts/bundle-cli.mjs) removes exactly this line, so its own
// require() bundles the package behind a lazy initializer; the build fails if the line changes.
const require = createRequire(import.meta.url);

/**
 * @duckdb/node-api, loaded on first use with require(). It is CommonJS: imported
 * from an ES module, Node would lex every one of its files for named exports
 * (~100 ms of CPU on every plan), and commands that never open the engine
 * (validate, show, state) would load its native binding too.
 */
export function duckdbApi(): DuckDbApi {
  return require("@duckdb/node-api") as DuckDbApi;
}
