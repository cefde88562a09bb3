import type { TestProject } from "vitest/node";
import { startCluster } from "./postgres-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

/** One PostgreSQL cluster for the whole run; tests create their own databases in it. */
export default async function setup(project: TestProject): Promise<() => void> {
  const cluster = await startCluster();
  project.provide("pgUrl", cluster.url);
  return () => cluster.stop();
}
