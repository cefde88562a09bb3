import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { COHO_BIN, runCli, type CliResult } from "./cli.js";
import { getJson } from "./emulator.js";
import { REPO_ROOT } from "./fixtures.js";
import { createDatabase, destinationEntry, runSql, writeProject } from "./project.js";
import { redshiftStandIn, replaceRows } from "./redshift-stand-in.js";

export type Backend = "local" | "postgres";
export const BACKENDS: readonly Backend[] = ["local", "postgres"];
/**
 * Where a suite's models and snapshots live: a state backend with DuckDB models, or
 * `redshift`: models of a Redshift source (its PostgreSQL stand-in,
 * test/helpers/redshift-stand-in.ts) whose warehouse also holds the snapshots
 * (state.snapshots), coho.lock local: plans push down, applies fold in the warehouse.
 */
export type Home = Backend | "redshift";

/**
 * How a suite runs apply: the `coho` binary, or `apply()` of the library behind a
 * tiny front end (test/helpers/api-apply.mjs, taking the same arguments).
 */
export type Driver = "binary" | "api";
export const DRIVERS: readonly Driver[] = ["binary", "api"];
export const API_APPLY = join(REPO_ROOT, "test", "helpers", "api-apply.mjs");


/** The two Braze roads: partner Cohort Import, and the public /users/track. */
export type Road = "cohorts" | "attributes";
export const ROADS: readonly Road[] = ["cohorts", "attributes"];
/**
 * The apply suites' matrix: five cells, each proving something the others do not.
 *   local    · binary · cohorts     the default setup, end to end
 *   postgres · binary · cohorts     the PostgreSQL state backend (its lock, journal,
 *                                   snapshots and fencing are its own code)
 *   postgres · api    · cohorts     the library front end (its approval callback and
 *                                   AbortSignal instead of the CLI's prompt and signals);
 *                                   below apply() the code is the binary's, so one backend
 *                                   suffices, the one with more moving parts
 *   local    · binary · attributes  the /users/track road (its client, batches of 75,
 *                                   attribute targets); the road is backend-independent,
 *                                   and attribute-sets and attributes-merge run it on both
 *   redshift · binary · cohorts     models and snapshots in a warehouse (push-down, the
 *                                   in-warehouse fold)
 * Left out, as they re-prove a pair already proven: local · api (the driver is
 * backend-independent) and postgres · binary · attributes (see above).
 */
export const SUITE_CASES: readonly (readonly [Home, Driver, Road])[] = [
  ["local", "binary", "cohorts"],
  ["postgres", "binary", "cohorts"],
  ["postgres", "api", "cohorts"],
  ["local", "binary", "attributes"],
  // The warehouse path through the binary on one road: what it changes (push-down, the
  // in-warehouse fold) is neither driver- nor road-specific.
  ["redshift", "binary", "cohorts"],
];
/** The state lock's matrix: both backends through the binary, and the library front end on PostgreSQL (see SUITE_CASES). */
export const LOCK_CASES: readonly (readonly [Backend, Driver])[] = [
  ["local", "binary"],
  ["postgres", "binary"],
  ["postgres", "api"],
];
/** Member changes per request on each road (defaults). */
export const ROAD_BATCH: Readonly<Record<Road, number>> = { cohorts: 1000, attributes: 75 };
/** Requests that ready a new cohort: a cohort upsert, or nothing for an attribute. */
export const ROAD_PREPARE: Readonly<Record<Road, number>> = { cohorts: 1, attributes: 0 };

/** A request that carries membership changes, on either road. */
export function isMembershipRequest(request: { path: string }): boolean {
  return request.path.endsWith("/cohorts/users") || request.path === "/users/track";
}

/** The script that runs `apply` under `driver`. */
export function applyScript(driver: Driver): string {
  return driver === "api" ? API_APPLY : COHO_BIN;
}

/** Extra environment per project folder (the state database URL of postgres projects). */
const projectEnv = new Map<string, Record<string, string>>();

export const SECRET_ENV = { BRAZE_PARTNER_API_KEY: "emulator-partner-key", BRAZE_DATA_IMPORT_KEY: "emulator-data-import-key", BRAZE_REST_API_KEY: "emulator-rest-api-key" };

/**
 * A project with two cohorts over two CSV files (members_a.csv, members_b.csv,
 * column user_id), aimed at `emu`. Secrets come from the environment the CLI gets.
 */
export function applyProject(emu: RunningEmulator, options: { guards?: string; state?: string; road?: Road; models?: string } = {}): string {
  const guards = options.guards ?? "    guards: { max_removals: 100%, allow_empty: true }\n";
  const road = options.road ?? "cohorts";
  // On the attribute road: alpha a boolean attribute, beta a value of a shared array attribute.
  const alphaBinding = road === "attributes" ? "    attribute: coho_alpha\n" : "";
  const betaBinding = road === "attributes" ? "    attribute: { name: coho_cohorts, value: beta }\n" : "";
  return writeProject({
    "coho.yaml": `version: 1
${options.state ?? ""}destinations:
${destinationEntry("braze", emu.url, road)}models:
${options.models ?? `  a:
    sql: |
      select user_id from read_csv('members_a.csv', columns = {'user_id': 'VARCHAR'})
  b:
    sql: |
      select user_id from read_csv('members_b.csv', columns = {'user_id': 'VARCHAR'})
`}identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  alpha:
    name: Alpha
    destination: braze
    model: a
    identifier: user_id
${alphaBinding}${guards}  beta:
    name: Beta
    destination: braze
    model: b
    identifier: user_id
${betaBinding}${guards}`,
    "members_a.csv": "user_id\n",
    "members_b.csv": "user_id\n",
  });
}

/** The same project on either state backend; postgres gets a fresh database of its own, redshift a stand-in. */
export async function applyProjectFor(backend: Home, emu: RunningEmulator, options: { guards?: string; road?: Road } = {}): Promise<string> {
  if (backend === "local") return applyProject(emu, options);
  if (backend === "redshift") {
    const url = await redshiftStandIn();
    await runSql(url, "CREATE TABLE members_a (user_id varchar(65535)); CREATE TABLE members_b (user_id varchar(65535))");
    const dir = applyProject(emu, {
      ...options,
      state: "state:\n  backend: local\n  snapshots: { source: wh, schema: coho_state }\nsources:\n  wh: { type: redshift, url: \"${env:REDSHIFT_URL}\" }\n",
      models: "  a:\n    source: wh\n    sql: select user_id from members_a\n  b:\n    source: wh\n    sql: select user_id from members_b\n",
    });
    projectEnv.set(dir, { REDSHIFT_URL: url });
    return dir;
  }
  const url = await createDatabase(inject("pgUrl"), "state");
  const dir = applyProject(emu, { ...options, state: "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n" });
  projectEnv.set(dir, { COHO_STATE_URL: url });
  return dir;
}

/** Registers extra environment (the state database URL) for a project folder. */
export function setProjectEnv(dir: string, env: Record<string, string>): void {
  projectEnv.set(dir, env);
}

/** The state database URL of a postgres project (undefined for local ones). */
export function stateUrl(dir: string): string | undefined {
  return projectEnv.get(dir)?.COHO_STATE_URL;
}

/** The extra environment of a project folder (its state or warehouse URL). */
export function projectEnvOf(dir: string): Record<string, string> {
  return projectEnv.get(dir) ?? {};
}

/** The warehouse (Redshift stand-in) URL of a redshift project, which holds its snapshots (undefined for others). */
export function warehouseUrl(dir: string): string | undefined {
  return projectEnv.get(dir)?.REDSHIFT_URL;
}

/** Whether an interrupted apply left work in the journal, whichever the backend. */
export async function journalPending(dir: string): Promise<boolean> {
  const url = stateUrl(dir);
  if (!url) return existsSync(join(dir, ".coho", "journal.jsonl")) && readFileSync(join(dir, ".coho", "journal.jsonl"), "utf8").trim() !== "";
  // A run killed before it created its tables left no journal.
  const rows = await queryState(url, "SELECT count(*)::int AS n FROM coho.journal").catch(() => [{ n: 0 }]);
  return rows[0]?.n > 0;
}

/** Whether some process holds the state lock, whichever the backend. */
export async function lockHeld(dir: string): Promise<boolean> {
  const url = stateUrl(dir);
  if (!url) return existsSync(join(dir, ".coho", "lock.json"));
  // Only this project's database: test files running at once share one cluster.
  const rows = await queryState(
    url,
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  ).catch(() => [{ n: 0 }]);
  return rows[0]?.n > 0;
}

export async function queryState(url: string, sql: string): Promise<any[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

export function writeMembers(dir: string, file: "a" | "b", ids: readonly string[]): void {
  writeFileSync(join(dir, `members_${file}.csv`), `user_id\n${ids.join("\n")}${ids.length > 0 ? "\n" : ""}`);
  // A redshift project's models read tables of its stand-in: the same rows go there.
  const warehouse = projectEnv.get(dir)?.REDSHIFT_URL;
  if (warehouse) replaceRows(warehouse, `members_${file}`, ids);
}

export function coho(dir: string, args: string[], env: Record<string, string> = {}, script: string = COHO_BIN): Promise<CliResult> {
  return runCli(["-C", dir, ...args], { env: { ...SECRET_ENV, NO_COLOR: "1", ...projectEnv.get(dir), ...env }, timeoutMs: 120_000, script });
}

/** `coho` whose `apply` runs through `driver`; every other command runs the binary. */
export function cohoVia(driver: Driver): typeof coho {
  return (dir, args, env = {}) => coho(dir, args, env, args.includes("apply") ? applyScript(driver) : COHO_BIN);
}

/**
 * Members of every cohort the emulator holds, by cohort name; on the attribute
 * road, of Alpha (coho_alpha is true) and Beta (coho_cohorts contains "beta").
 */
export async function brazeByName(emu: RunningEmulator, road: Road = "cohorts"): Promise<Record<string, string[]>> {
  if (road === "attributes") {
    const { users } = await getJson<{ users: { key: string; custom_attributes: Record<string, unknown> }[] }>(`${emu.url}/_emulator/users`);
    const holding = (test: (custom: Record<string, unknown>) => boolean) => users.filter((u) => test(u.custom_attributes)).map((u) => u.key).sort();
    return {
      Alpha: holding((c) => c.coho_alpha === true),
      Beta: holding((c) => Array.isArray(c.coho_cohorts) && c.coho_cohorts.includes("beta")),
    };
  }
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
