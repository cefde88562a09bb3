/**
 * The BigQuery emulator's own floor for a plan: plain Node asks it for both set
 * differences (EXCEPT DISTINCT, counted) between the model table and the recorded
 * snapshot coho's push-down reads; nothing leaves but two numbers.
 *   node test/bench/floor-bigquery.mjs EMULATOR_URL PROJECT DATASET SNAPSHOT_ID
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { BigQuery } = require("@google-cloud/bigquery");
const { PassThroughClient } = require("google-auth-library");
const [url, project, dataset, snapshot] = process.argv.slice(2);
const client = new BigQuery({ projectId: project, apiEndpoint: url, authClient: new PassThroughClient() });
const desired = `SELECT CONCAT('external_id:', user_id) AS key FROM \`${dataset}\`.bench_desired`;
const recorded = "SELECT key FROM `coho_state`.snapshot_keys WHERE snapshot = @s";
const count = async (sql) => {
  const [rows] = await client.query({ query: `SELECT COUNT(*) AS n FROM (${sql}) AS d`, params: { s: snapshot }, useLegacySql: false });
  return Number(rows[0].n);
};
const add = await count(`${desired} EXCEPT DISTINCT ${recorded}`);
const remove = await count(`${recorded} EXCEPT DISTINCT ${desired}`);
process.stdout.write(`${JSON.stringify({ add, remove })}\n`);
