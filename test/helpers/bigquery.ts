import type { BigQuery } from "@google-cloud/bigquery";
import { inject } from "vitest";
import { EMULATOR_PROJECT, clientOf } from "./bigquery-emulator.js";

/** A client of the run's BigQuery emulator (no authentication: the emulator checks none). */
export function emulatorClient(url: string = inject("bigqueryUrl")): BigQuery {
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
export function bigQuerySourceYaml(dataset: string, extra = "", url: string = inject("bigqueryUrl")): string {
  return `sources:
  wh:
    type: bigquery
    project: ${EMULATOR_PROJECT}
    dataset: ${dataset}
    api_endpoint: ${url}
${extra}`;
}
