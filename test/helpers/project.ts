import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { loadProject } from "../../src/config/load-project.js";
import type { Project } from "../../src/model/project.js";

/** Writes files into a new temporary folder; returns its path. */
export function writeProject(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "coho-project-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Loads a project that must be valid; throws with the diagnostics otherwise. */
export function loadValid(dir: string, env: Record<string, string> = {}, allowPaths?: readonly string[]): Project {
  const result = loadProject(dir, { env, ...(allowPaths ? { allowPaths } : {}) });
  if (!result.project) throw new Error(`invalid test project: ${JSON.stringify(result.diagnostics, null, 2)}`);
  return result.project;
}

/** One destination entry (under `destinations:`) of either road, secrets from the environment. */
export function destinationEntry(name: string, restEndpoint: string, road: "cohorts" | "attributes" = "cohorts"): string {
  if (road === "attributes") {
    return `  ${name}:
    type: braze_attributes
    rest_endpoint: ${restEndpoint}
    api_key: \${env:BRAZE_REST_API_KEY}
`;
  }
  return `  ${name}:
    type: braze_cohorts
    rest_endpoint: ${restEndpoint}
    partner: coho-emulator
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
`;
}

export const DESTINATION_YAML = `destinations:\n${destinationEntry("braze", "http://127.0.0.1:4010")}`;

export const EMULATOR_ENV = { BRAZE_PARTNER_API_KEY: "emulator-partner-key", BRAZE_DATA_IMPORT_KEY: "emulator-data-import-key", BRAZE_REST_API_KEY: "emulator-rest-api-key" };

/** A new, empty database in the test cluster; returns its URL. */
export async function createDatabase(baseUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function runSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
