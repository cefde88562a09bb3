import { loadDriver } from "../load-driver.js";

/**
 * The official BigQuery client and Google's auth library, loaded on first use
 * (both CommonJS, with many files, optional peer dependencies): a project
 * without BigQuery never pays for loading or installing them.
 */
export function bigqueryDriver(): typeof import("@google-cloud/bigquery") {
  return loadDriver<typeof import("@google-cloud/bigquery")>("@google-cloud/bigquery");
}

export function googleAuthLibrary(): typeof import("google-auth-library") {
  return loadDriver<typeof import("google-auth-library")>("google-auth-library");
}
