import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { setProjectEnv, type Backend, type Road } from "./apply-project.js";
import { createDatabase, destinationEntry, writeProject } from "./project.js";

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
export async function setProjectFor(backend: Backend, emu: RunningEmulator, options: SetProjectOptions = {}): Promise<string> {
  const state = backend === "postgres" ? "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n" : "";
  const dir = writeProject({ "coho.yaml": setYaml(emu, state, options), "members.csv": "country,user_id,label\n" });
  if (backend === "postgres") setProjectEnv(dir, { COHO_STATE_URL: await createDatabase(inject("pgUrl"), "state") });
  return dir;
}

export function setYaml(emu: RunningEmulator, state: string, options: SetProjectOptions = {}): string {
  return `version: 1
${state}destinations:
${destinationEntry("braze", emu.url, options.road)}models:
  members:
    sql: |
      select ${options.select ?? "country, user_id"} from read_csv('members.csv', columns = {'country': 'VARCHAR', 'user_id': 'VARCHAR', 'label': 'VARCHAR'})
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
export function rewriteSetYaml(dir: string, emu: RunningEmulator, backend: Backend, options: SetProjectOptions): void {
  const state = backend === "postgres" ? "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n" : "";
  writeFileSync(join(dir, "coho.yaml"), setYaml(emu, state, options));
}

/** Rows of members.csv: [country, user_id, label?]. */
export function writeRows(dir: string, rows: readonly (readonly (string | null)[])[]): void {
  const cell = (v: string | null | undefined) => (v === null || v === undefined ? "" : v.includes(",") || v.includes('"') ? `"${v.replace(/"/g, '""')}"` : v);
  writeFileSync(join(dir, "members.csv"), `country,user_id,label\n${rows.map((r) => [cell(r[0] ?? null), cell(r[1] ?? null), cell(r[2])].join(",")).join("\n")}\n`);
}

/** n users of one country: `<country>-0`, `<country>-1`, … */
export function countryRows(country: string, n: number, offset = 0): string[][] {
  return Array.from({ length: n }, (_, i) => [country, `${country.toLowerCase()}-${i + offset}`]);
}
