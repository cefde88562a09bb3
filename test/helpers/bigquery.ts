import type { BigQuery } from "@google-cloud/bigquery";
import { afterAll, beforeAll } from "vitest";
import { EMULATOR_PROJECT, clientOf, startBigQueryEmulator, type RunningBigQueryEmulator } from "./bigquery-emulator.js";

let running: RunningBigQueryEmulator | undefined;

/**
 * Gives the calling test file a BigQuery emulator of its own (started before its
 * tests, ~0.2 s; stopped after). Not one per run: the emulator ignores
 * `defaultDataset` and resolves unqualified names across datasets, so files running
 * side by side saw each other's tables, and one process serving every file grew until
 * its SQL parser failed ("slice bounds out of range").
 */
export function bigQueryEmulatorPerFile(): void {
  beforeAll(async () => {
    running = await startBigQueryEmulator();
  });
  afterAll(async () => {
    await running?.stop();
    running = undefined;
  });
}

/** The REST endpoint of this file's emulator. */
export function bigQueryUrl(): string {
  if (!running) throw new Error("no BigQuery emulator: call bigQueryEmulatorPerFile() at the top of the test file");
  return running.url;
}

/** A client of this file's BigQuery emulator (no authentication: the emulator checks none). */
export function emulatorClient(url: string = bigQueryUrl()): BigQuery {
  return clientOf(url);
}

/** A new, empty dataset of the emulator's project; returns its name. */
export async function createDataset(prefix: string, url?: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await emulatorClient(url).createDataset(name);
  return name;
}

/** Runs GoogleSQL in `dataset` (unqualified names resolve there) and returns the rows as objects. */
export async function runBigQuery(dataset: string, sql: string, url?: string): Promise<Record<string, unknown>[]> {
  const client = emulatorClient(url);
  const [job] = await client.createQueryJob({ query: sql, useLegacySql: false, defaultDataset: { projectId: EMULATOR_PROJECT, datasetId: dataset } });
  const [rows] = await job.getQueryResults();
  return rows as Record<string, unknown>[];
}

/** Replaces table `name` of `dataset` with one STRING column `user_id` holding `ids`. */
export async function replaceMembers(dataset: string, name: string, ids: readonly string[], url?: string): Promise<void> {
  const values = ids.length === 0 ? "SELECT CAST(NULL AS STRING) AS user_id FROM UNNEST([1]) WHERE FALSE" : `SELECT user_id FROM UNNEST([${ids.map((id) => `'${id.replace(/[\\']/g, "\\$&")}'`).join(",")}]) AS user_id`;
  await runBigQuery(dataset, `CREATE OR REPLACE TABLE ${dataset}.${name} AS ${values}`, url);
}

/** The `sources:` entry of a BigQuery source on the emulator, reading `dataset`. */
export function bigQuerySourceYaml(dataset: string, extra = "", url: string = bigQueryUrl()): string {
  return `sources:
  wh:
    type: bigquery
    project: ${EMULATOR_PROJECT}
    dataset: ${dataset}
    api_endpoint: ${url}
${extra}`;
}
