import type { TestProject } from "vitest/node";
import { startCluster } from "./postgres-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

/** One PostgreSQL cluster for the whole run (each BigQuery test file starts its own emulator: helpers/bigquery.ts). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startCluster();
  project.provide("pgUrl", cluster.url);
  return async () => {
    cluster.stop();
  };
}
