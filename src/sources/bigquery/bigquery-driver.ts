import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * The official BigQuery client and Google's auth library, loaded on first use
 * (both CommonJS, with many files): a project without BigQuery never pays for
 * loading them, and the CLI bundle leaves them out (createRequire).
 */
export function bigqueryDriver(): typeof import("@google-cloud/bigquery") {
  return require("@google-cloud/bigquery") as typeof import("@google-cloud/bigquery");
}

export function googleAuthLibrary(): typeof import("google-auth-library") {
  return require("google-auth-library") as typeof import("google-auth-library");
}
