import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { runCli, type CliResult } from "./cli.js";
import { getJson } from "./emulator.js";
import { writeProject } from "./project.js";

export const SECRET_ENV = { BRAZE_PARTNER_API_KEY: "emulator-partner-key", BRAZE_DATA_IMPORT_KEY: "emulator-data-import-key" };

/**
 * A project with two cohorts over two CSV files (members_a.csv, members_b.csv,
 * column user_id), aimed at `emu`. Secrets come from the environment the CLI gets.
 */
export function applyProject(emu: RunningEmulator, options: { guards?: string } = {}): string {
  const guards = options.guards ?? "    guards: { max_removals: 100%, allow_empty: true }\n";
  return writeProject({
    "coho.yaml": `version: 1
destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: ${emu.url}
    partner: coho-emulator
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
models:
  a:
    sql: |
      select user_id from read_csv('members_a.csv', columns = {'user_id': 'VARCHAR'})
  b:
    sql: |
      select user_id from read_csv('members_b.csv', columns = {'user_id': 'VARCHAR'})
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  alpha:
    name: Alpha
    destination: braze
    model: a
    identifier: user_id
${guards}  beta:
    name: Beta
    destination: braze
    model: b
    identifier: user_id
${guards}`,
    "members_a.csv": "user_id\n",
    "members_b.csv": "user_id\n",
  });
}

export function writeMembers(dir: string, file: "a" | "b", ids: readonly string[]): void {
  writeFileSync(join(dir, `members_${file}.csv`), `user_id\n${ids.join("\n")}${ids.length > 0 ? "\n" : ""}`);
}

export function coho(dir: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(["-C", dir, ...args], { env: { ...SECRET_ENV, NO_COLOR: "1", ...env }, timeoutMs: 120_000 });
}

/** Members of every cohort the emulator holds, by cohort name. */
export async function brazeByName(emu: RunningEmulator): Promise<Record<string, string[]>> {
  const { cohorts } = await getJson<{ cohorts: { cohort_id: string; name: string | null }[] }>(`${emu.url}/_emulator/cohorts`);
  const result: Record<string, string[]> = {};
  for (const c of cohorts) {
    const { members } = await getJson<{ members: string[] }>(`${emu.url}/_emulator/cohorts/${encodeURIComponent(c.cohort_id)}/members`);
    result[c.name ?? c.cohort_id] = members;
  }
  return result;
}

export const keysOf = (ids: readonly string[]): string[] => ids.map((id) => `external_id:${id}`).sort();

/** n ids, u0000…, from a universe of 100,000. */
export function ids(n: number, offset = 0): string[] {
  return Array.from({ length: n }, (_, i) => `u${String(i + offset).padStart(5, "0")}`);
}
