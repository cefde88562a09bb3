import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import type { Plan } from "../../src/model/plan.js";
import { STACK_FRAME, withoutProgress } from "../helpers/cli.js";
import { emulators, getJson, requestLog } from "../helpers/emulator.js";
import { BACKENDS, coho } from "../helpers/apply-project.js";
import { countryRows, setProjectFor, writeRows } from "../helpers/set-project.js";

const start = emulators();
const DE = 'cohorts.by_country["DE"]';
const FR = 'cohorts.by_country["FR"]';
const BOOLEAN = '    attribute: "coho_country_{key}"\n';
const ARRAY = '    attribute: { name: coho_countries, value: "{key}" }\n';
const GUARDS = "    guards: { max_deleted_instances: 1, max_removals: 100% }\n";

type Custom = Record<string, unknown>;
const lockfile = (dir: string) => JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, { target?: string; members: { count: number } }> };
const planJson = async (dir: string, args: string[] = []) => JSON.parse((await coho(dir, ["plan", "--json", ...args])).stdout) as Plan;

/** Every user's custom attributes in the emulator, by member key. */
async function attributes(emu: RunningEmulator): Promise<Record<string, Custom>> {
  const { users } = await getJson<{ users: { key: string; custom_attributes: Custom }[] }>(`${emu.url}/_emulator/users`);
  return Object.fromEntries(users.map((u) => [u.key, u.custom_attributes]));
}

/** Member keys whose attributes pass `test`, sorted. */
async function holding(emu: RunningEmulator, test: (custom: Custom) => boolean): Promise<string[]> {
  return Object.entries(await attributes(emu)).filter(([, custom]) => test(custom)).map(([key]) => key).sort();
}

const keys = (rows: string[][]) => rows.map((r) => `external_id:${r[1]}`).sort();
const inArray = (value: string) => (c: Custom) => Array.isArray(c.coho_countries) && c.coho_countries.includes(value);

describe.each(BACKENDS)("cohort sets on the /users/track road, %s state", (backend) => {
  it("one boolean attribute per key: creates, syncs only what changed, and deletes an instance whose key vanished", async () => {
    const emu = await start();
    const dir = await setProjectFor(backend, emu, { road: "attributes", extra: BOOLEAN + GUARDS });
    const de = countryRows("DE", 80);
    const fr = countryRows("FR", 3);
    writeRows(dir, [...de, ...fr]);

    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(withoutProgress(first.stderr)).toBe("");
    expect(first.code).toBe(0);
    expect(await holding(emu, (c) => c.coho_country_DE === true)).toEqual(keys(de));
    expect(await holding(emu, (c) => c.coho_country_FR === true)).toEqual(keys(fr));
    expect(lockfile(dir).cohorts[DE]!.target).toBe("boolean:coho_country_DE:false");
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    // One FR member leaves: one request, for FR only, setting false.
    writeRows(dir, [...de, ...fr.slice(1)]);
    const before = emu.log.total;
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const sent = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(sent.map((r) => r.attributes)).toEqual([[{ external_id: "fr-0", _update_existing_only: true, coho_country_FR: false }]]);

    // FR vanishes: its members leave (false) and the instance is forgotten.
    writeRows(dir, de);
    const plan = await planJson(dir);
    expect(plan.cohorts.find((c) => c.address === FR)).toMatchObject({ actions: ["delete"], members: { before: 2, remove: 2 } });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(await holding(emu, (c) => c.coho_country_FR === true)).toEqual([]);
    expect(await holding(emu, (c) => c.coho_country_FR === false)).toEqual(keys(fr));
    expect(Object.keys(lockfile(dir).cohorts)).toEqual([DE]);
  });

  it("one shared array, one value per key: a user in two instances holds both values, and a deleted instance removes only its own", async () => {
    const emu = await start();
    const dir = await setProjectFor(backend, emu, { road: "attributes", extra: ARRAY + GUARDS });
    const de = countryRows("DE", 4);
    const fr = [...countryRows("FR", 2), ["FR", "de-0"]];
    writeRows(dir, [...de, ...fr]);

    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(withoutProgress(first.stderr)).toBe("");
    expect(first.code).toBe(0);
    // Instances are sent concurrently: the array's order is not coho's to fix.
    expect(((await attributes(emu))["external_id:de-0"]!.coho_countries as string[]).slice().sort()).toEqual(["DE", "FR"]);
    expect(await holding(emu, inArray("FR"))).toEqual(keys(fr));
    expect(lockfile(dir).cohorts[FR]!.target).toBe("array:coho_countries:FR");
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    writeRows(dir, de);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(await holding(emu, inArray("FR"))).toEqual([]);
    expect((await attributes(emu))["external_id:de-0"]).toEqual({ coho_countries: ["DE"] });
    expect(await holding(emu, inArray("DE"))).toEqual(keys(de));
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});

describe("cohort sets on the /users/track road: templates and guards", () => {
  it("a template that renders another attribute is a re-target of every instance: leave the old, join the new", async () => {
    const emu = await start();
    const dir = await setProjectFor("local", emu, { road: "attributes", extra: BOOLEAN });
    writeRows(dir, [...countryRows("DE", 2), ...countryRows("FR", 1)]);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);

    const yaml = join(dir, "coho.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("coho_country_{key}", "coho_market_{key}"));
    const plan = await planJson(dir);
    expect(plan.cohorts.map((c) => [c.address, c.changed_attributes, c.members])).toEqual([
      [DE, ["target", "members"], { before: 2, after: 2, add: 2, remove: 2 }],
      [FR, ["target", "members"], { before: 1, after: 1, add: 1, remove: 1 }],
    ]);
    expect((await coho(dir, ["plan"])).stdout).toContain("boolean:coho_country_DE:false → boolean:coho_market_DE:false");
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect((await attributes(emu))["external_id:de-1"]).toEqual({ coho_country_DE: false, coho_market_DE: true });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });

  it("refuses two instances rendering one boolean attribute, naming the template and both keys, at the template's line", async () => {
    const emu = await start();
    const dir = await setProjectFor("local", emu, { road: "attributes", select: "country, user_id, label", extra: '    attribute: "coho_{label}"\n' });
    writeRows(dir, [["de", "a", "Germany"], ["DE", "b", "Germany"]]);
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'coho.yaml:20:16: error: cohorts.by_country["de"] (template "coho_{label}", key "de") writes the boolean attribute coho_Germany, which cohorts.by_country["DE"] (template "coho_{label}", key "DE") writes already',
    );
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(emu.log.total).toBe(0);
  });

  it("refuses an instance writing the array value an ordinary cohort writes", async () => {
    const emu = await start();
    const ordinary = "  germany:\n    name: Germany\n    destination: braze\n    model: members\n    identifier: user_id\n    attribute: { name: coho_countries, value: DE }\n";
    const dir = await setProjectFor("local", emu, { road: "attributes", extra: ARRAY, cohorts: ordinary });
    writeRows(dir, countryRows("DE", 1));
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: cohorts\.germany writes the value "DE" of array attribute coho_countries, which cohorts\.by_country\["DE"\] \(template \{ name: coho_countries, value: "\{key\}" \}, key "DE"\) writes already/);
  });

  it.each([
    ["a character outside letters, digits and underscores", BOOLEAN, [["en-US", "a"], ["pt-BR", "c"]], 'the attribute name "coho_country_en-US" would not be a letter or underscore followed by letters, digits or underscores'],
    ["Braze's reserved $ prefix", '    attribute: "{key}"\n', [["$plan", "a"]], 'the attribute name "$plan" would start with "$", which Braze reserves'],
    ["an over-long name", BOOLEAN, [["K".repeat(245), "a"]], "the attribute name would be 258 characters long (Braze allows 255)"],
    ["an over-long array value", '    attribute: { name: coho_countries, value: "{label}: {key}" }\n', [["DE", "a", "G".repeat(253)]], "the array value would be 257 characters long"],
    ["a control character in a value", '    attribute: { name: coho_countries, value: "{label}" }\n', [["DE", "a", "Ger\u001bmany"]], "the array value would hold a control or bidirectional-text character"],
  ])("refuses a rendered binding with %s, located at the template", async (_what, attribute, rows, message) => {
    const emu = await start();
    const dir = await setProjectFor("local", emu, { road: "attributes", select: "country, user_id, label", extra: attribute });
    writeRows(dir, [...rows, ["FR", "b", "France"]]);
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\/coho\.yaml:20:16: error: cohorts\.by_country\["[^"]*"\] \(template /);
    expect(result.stderr).toContain(message);
    expect(result.stderr.trim().split("\n").filter((l) => l.includes("error:"))).toHaveLength(1);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("the array-cap guard counts the instances sharing one array attribute", async () => {
    const emu = await start();
    const dir = await setProjectFor("local", emu, { road: "attributes", extra: ARRAY });
    const yaml = join(dir, "coho.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("api_key: ${env:BRAZE_REST_API_KEY}", "api_key: ${env:BRAZE_REST_API_KEY}\n    max_array_values: 1"));
    // Two instances share coho_countries, but no user is in both: one value each.
    writeRows(dir, [...countryRows("DE", 3), ...countryRows("FR", 3)]);
    const apart = await planJson(dir);
    expect(apart.applyable).toBe(true);
    expect(apart.cohorts[0]!.guards).toContainEqual(expect.objectContaining({ guard: "max_array_values", status: "pass" }));
    // de-0 joins FR too: two values for one user, over the cap of one.
    writeRows(dir, [...countryRows("DE", 3), ...countryRows("FR", 3), ["FR", "de-0"]]);
    const blocked = await coho(dir, ["plan"]);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain("max_array_values BLOCKED: array attribute coho_countries of destination braze would hold up to 2 coho values for one user, over max_array_values 1");
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(1);
    expect(emu.log.total).toBe(0);
  });
});
