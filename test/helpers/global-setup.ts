import type { TestProject } from "vitest/node";
import { startBigQueryEmulator } from "./bigquery-emulator.js";
import { startCluster } from "./postgres-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
    /** The BigQuery emulator's REST endpoint (one per run; test files make datasets of their own). */
    bigqueryUrl: string;
  }
}

/** One PostgreSQL cluster and one BigQuery emulator for the whole run, started side by side. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [cluster, bigquery] = await Promise.all([startCluster(), startBigQueryEmulator()]);
  project.provide("pgUrl", cluster.url);
  project.provide("bigqueryUrl", bigquery.url);
  return async () => {
    cluster.stop();
    await bigquery.stop();
  };
}
