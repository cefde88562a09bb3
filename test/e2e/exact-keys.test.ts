import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { coho, setProjectEnv } from "../helpers/apply-project.js";
import { emulators, getJson } from "../helpers/emulator.js";
import { createDatabase, destinationEntry, writeProject } from "../helpers/project.js";
import { seededRandom } from "../helpers/random.js";

const start = emulators();

/**
 * Pieces of text that decoders, trimmers and normalizers like to change: a
 * byte-order mark (U+FEFF, which a UTF-8 decoder drops when it leads), NBSP,
 * a zero-width space, an emoji (a surrogate pair), a combining mark, quotes, a
 * backslash, a comma, a colon (the member key's separator), non-Latin letters.
 */
const PIECES = ["\uFEFF", "\u00A0", "\u200B", "😀", "e\u0301", "'", '"', "\\", ",", ":", "ß", "中", "a", "Z", "7", " "];
/** Key values of the cohort sets: each instance's name and members depend on them arriving intact. */
const GROUPS = ["\uFEFF", "\uFEFFlead", "x\u00A0y", "😀"];

/** Identifier values, each valid (some character that is neither a control character nor White_Space), all distinct. */
function identifierValues(seed: number, n: number): string[] {
  const random = seededRandom(seed);
  const values = new Set<string>(["\uFEFF", "\uFEFFbom", "bom\uFEFF", "\u00A0nbsp", "o'brien", 'say "hi"', "e\u0301\u0301", "😀"]);
  while (values.size < n) {
    let value = "";
    const length = 1 + Math.floor(random() * 5);
    for (let i = 0; i < length; i++) value += PIECES[Math.floor(random() * PIECES.length)];
    if (value.trim() === "" || /^[\u00A0 ]+$/.test(value)) value += "a";
    values.add(value);
  }
  return [...values];
}

const cohort = (name: string, model: string, destination: string, extra = "") => `  ${name}:
    name: "${name}"
    destination: ${destination}
    model: ${model}
    identifier: uid
${extra}`;

const set = (name: string, model: string, destination: string, extra = "") => `  ${name}:
    name: "${name} {key}"
    destination: ${destination}
    model: ${model}
    identifier: uid
    for_each: { key: grp }
${extra}`;

async function keysProject(cohortsEmu: RunningEmulator, attributesEmu: RunningEmulator, rows: readonly { uid: string; grp: string }[]): Promise<string> {
  const pgUrl = await createDatabase(inject("pgUrl"), "keys");
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  await client.query("CREATE TABLE people (uid text, grp text)");
  for (const row of rows) await client.query("INSERT INTO people VALUES ($1, $2)", [row.uid, row.grp]);
  await client.end();
  const dir = writeProject({
    "coho.yaml": `version: 1
sources:
  duck:
    type: duckdb
  pg:
    type: postgres
    url: \${env:PG_URL}
destinations:
${destinationEntry("imports", cohortsEmu.url)}${destinationEntry("attrs", attributesEmu.url, "attributes")}models:
  duck:
    source: duck
    sql: "select uid, grp from read_json('people.json', columns = {'uid': 'VARCHAR', 'grp': 'VARCHAR'})"
  postgres:
    source: pg
    sql: select uid, grp from people
identifiers:
  uid: { type: external_id, column: uid }
cohorts:
${cohort("duck_all", "duck", "imports")}${cohort("pg_all", "postgres", "imports")}${set("duck_set", "duck", "imports")}${set("pg_set", "postgres", "imports")}${cohort("duck_attr", "duck", "attrs", "    attribute: coho_duck\n")}${cohort("pg_attr", "postgres", "attrs", "    attribute: coho_pg\n")}${set("duck_set_attr", "duck", "attrs", '    attribute: { name: coho_duck_groups, value: "g{key}" }\n')}${set("pg_set_attr", "postgres", "attrs", '    attribute: { name: coho_pg_groups, value: "g{key}" }\n')}`,
    "people.json": JSON.stringify(rows),
  });
  setProjectEnv(dir, { PG_URL: pgUrl });
  return dir;
}

/** Cohort name → member keys, as the emulator holds them. */
async function cohortMembers(emu: RunningEmulator): Promise<Map<string, string[]>> {
  const { cohorts } = await getJson<{ cohorts: { cohort_id: string; name: string | null }[] }>(`${emu.url}/_emulator/cohorts`);
  const result = new Map<string, string[]>();
  for (const c of cohorts) {
    const { members } = await getJson<{ members: string[] }>(`${emu.url}/_emulator/cohorts/${encodeURIComponent(c.cohort_id)}/members`);
    result.set(c.name ?? c.cohort_id, [...members].sort());
  }
  return result;
}

/** Users (member keys) for which `test` holds of their custom attributes. */
async function usersWhere(emu: RunningEmulator, test: (custom: Record<string, unknown>) => boolean): Promise<string[]> {
  const { users } = await getJson<{ users: { key: string; custom_attributes: Record<string, unknown> }[] }>(`${emu.url}/_emulator/users`);
  return users.filter((u) => test(u.custom_attributes)).map((u) => u.key).sort();
}

const sorted = (values: readonly string[]) => [...values].sort();

describe("identifier and set key values reach Braze byte for byte", () => {
  const seed = Number(process.env.COHO_TEST_SEED ?? 20261207);
  it(`from DuckDB and PostgreSQL, on both roads: BOM, NBSP, emoji, combining marks, quotes (seed ${seed})`, async () => {
    const cohortsEmu = await start();
    const attributesEmu = await start();
    const values = identifierValues(seed, 40);
    const rows = values.map((uid, i) => ({ uid, grp: GROUPS[i % GROUPS.length]! }));
    const dir = await keysProject(cohortsEmu, attributesEmu, rows);
    const applied = await coho(dir, ["apply", "--auto-approve", "--json"]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    const report = JSON.parse(applied.stdout) as { cohorts: { address: string; rejected: number; refused: number }[] };
    for (const c of report.cohorts) expect({ address: c.address, rejected: c.rejected, refused: c.refused }).toEqual({ address: c.address, rejected: 0, refused: 0 });

    const all = sorted(values.map((v) => `external_id:${v}`));
    const inGroup = (grp: string) => sorted(rows.filter((r) => r.grp === grp).map((r) => `external_id:${r.uid}`));
    const expected = new Map<string, string[]>([
      ["duck_all", all],
      ["pg_all", all],
      ...GROUPS.flatMap((g) => [[`duck_set ${g}`, inGroup(g)] as [string, string[]], [`pg_set ${g}`, inGroup(g)] as [string, string[]]]),
    ]);
    expect(new Map([...(await cohortMembers(cohortsEmu))].sort())).toEqual(new Map([...expected].sort()));

    expect(await usersWhere(attributesEmu, (c) => c.coho_duck === true)).toEqual(all);
    expect(await usersWhere(attributesEmu, (c) => c.coho_pg === true)).toEqual(all);
    for (const g of GROUPS) {
      for (const attribute of ["coho_duck_groups", "coho_pg_groups"]) {
        expect(await usersWhere(attributesEmu, (c) => Array.isArray(c[attribute]) && (c[attribute] as unknown[]).includes(`g${g}`)), `${attribute} ∋ ${JSON.stringify(g)}`).toEqual(inGroup(g));
      }
    }
    // What was recorded is what was sent: the next plan has nothing to do.
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  }, 180_000);
});
