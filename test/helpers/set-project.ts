import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { setProjectEnv, warehouseUrl, type Home, type Road } from "./apply-project.js";
import { createDatabase, destinationEntry, runSql, writeProject } from "./project.js";
import { redshiftStandIn, replaceRows } from "./redshift-stand-in.js";

export interface SetProjectOptions {
  /** Extra lines under the set's entry (indented four spaces), e.g. guards. */
  readonly extra?: string;
  readonly name?: string;
  /** The model's select list; `label` may be added. */
  readonly select?: string;
  readonly setKey?: string;
  readonly moved?: string;
  /** The for_each mapping, default `{ key: country }`. */
  readonly forEach?: string;
  /** The destination's road (default cohorts); on the attribute road, add `attribute:` through `extra`. */
  readonly road?: Road;
  /** Ordinary cohorts after the set (full YAML entries, indented two spaces). */
  readonly cohorts?: string;
}

/**
 * A project with one cohort set, `cohorts.by_country`, over members.csv
 * (country, user_id, label): one instance per country.
 */
export async function setProjectFor(backend: Home, emu: RunningEmulator, options: SetProjectOptions = {}): Promise<string> {
  const dir = writeProject({ "coho.yaml": setYaml(emu, stateFor(backend), options, backend), "members.csv": "country,user_id,label\n" });
  if (backend === "postgres") setProjectEnv(dir, { COHO_STATE_URL: await createDatabase(inject("pgUrl"), "state") });
  if (backend === "redshift") {
    const url = await redshiftStandIn("sets");
    await runSql(url, "CREATE TABLE members (country varchar(256), user_id varchar(256), label varchar(256))");
    setProjectEnv(dir, { REDSHIFT_URL: url });
  }
  return dir;
}

/** The state section (and, for redshift, the warehouse source holding models and snapshots). */
function stateFor(backend: Home): string {
  if (backend === "postgres") return "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n";
  if (backend === "redshift") return 'state:\n  backend: local\n  snapshots: { source: wh }\nsources:\n  wh: { type: redshift, url: "${env:REDSHIFT_URL}" }\n';
  return "";
}

export function setYaml(emu: RunningEmulator, state: string, options: SetProjectOptions = {}, backend: Home = "local"): string {
  const from = backend === "redshift" ? "members" : "read_csv('members.csv', columns = {'country': 'VARCHAR', 'user_id': 'VARCHAR', 'label': 'VARCHAR'})";
  return `version: 1
${state}destinations:
${destinationEntry("braze", emu.url, options.road)}models:
  members:
${backend === "redshift" ? "    source: wh\n" : ""}    sql: |
      select ${options.select ?? "country, user_id"} from ${from}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  ${options.setKey ?? "by_country"}:
    name: "${options.name ?? "Country: {key}"}"
    destination: braze
    model: members
    identifier: user_id
    for_each: ${options.forEach ?? "{ key: country }"}
${options.extra ?? ""}${options.cohorts ?? ""}${options.moved ?? ""}`;
}

/** Rewrites the project's coho.yaml (keeping its state section). */
export function rewriteSetYaml(dir: string, emu: RunningEmulator, backend: Home, options: SetProjectOptions): void {
  writeFileSync(join(dir, "coho.yaml"), setYaml(emu, stateFor(backend), options, backend));
}

/** Rows of members.csv: [country, user_id, label?]. */
export function writeRows(dir: string, rows: readonly (readonly (string | null)[])[]): void {
  const cell = (v: string | null | undefined) => (v === null || v === undefined ? "" : v.includes(",") || v.includes('"') ? `"${v.replace(/"/g, '""')}"` : v);
  writeFileSync(join(dir, "members.csv"), `country,user_id,label\n${rows.map((r) => [cell(r[0] ?? null), cell(r[1] ?? null), cell(r[2])].join(",")).join("\n")}\n`);
  // A redshift project's model reads the table `members` of its stand-in: the same rows go there.
  const warehouse = warehouseUrl(dir);
  if (warehouse) replaceRows(warehouse, "members", rows.map((r) => [r[0] ?? null, r[1] ?? null, r[2] ?? null]));
}

/** n users of one country: `<country>-0`, `<country>-1`, … */
export function countryRows(country: string, n: number, offset = 0): string[][] {
  return Array.from({ length: n }, (_, i) => [country, `${country.toLowerCase()}-${i + offset}`]);
}
