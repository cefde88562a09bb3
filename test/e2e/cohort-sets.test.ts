import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Plan } from "../../src/model/plan.js";
import { STACK_FRAME, withoutProgress } from "../helpers/cli.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { BACKENDS, brazeByName, coho } from "../helpers/apply-project.js";
import { destinationEntry } from "../helpers/project.js";
import { countryRows, rewriteSetYaml, setProjectFor, writeRows } from "../helpers/set-project.js";

const start = emulators();
const DE = 'cohorts.by_country["DE"]';
const FR = 'cohorts.by_country["FR"]';

const lockfile = (dir: string) => JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, { cohort_id: string; name: string; members: { count: number } }> };
const planJson = async (dir: string, args: string[] = []) => {
  const result = await coho(dir, ["plan", "--json", ...args]);
  return { ...result, plan: JSON.parse(result.stdout) as Plan };
};
const keys = (rows: string[][]) => rows.map((r) => `external_id:${r[1]}`).sort();

// And on Redshift (its stand-in): the set's model pulled through, snapshots folded inside the warehouse.
describe.each([...BACKENDS, "redshift" as const])("cohort sets (for_each), %s state", (backend) => {
  it("creates one cohort per key value, syncs only the instance that changed, and deletes an instance whose key vanished", async () => {
    const emu = await start();
    const dir = await setProjectFor(backend, emu, { extra: "    guards: { max_deleted_instances: 1 }\n" });
    const de = countryRows("DE", 1200);
    const fr = countryRows("FR", 3);
    writeRows(dir, [...de, ...fr]);

    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(withoutProgress(first.stderr)).toBe("");
    expect(first.code).toBe(0);
    expect(await brazeByName(emu)).toEqual({ "Country: DE": keys(de), "Country: FR": keys(fr) });
    expect(Object.keys(lockfile(dir).cohorts).sort()).toEqual([DE, FR]);
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    // One FR member leaves: only FR gets a request.
    writeRows(dir, [...de, ...fr.slice(1)]);
    const before = emu.log.total;
    const second = await coho(dir, ["apply", "--auto-approve"]);
    expect(second.code).toBe(0);
    const sent = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.cohort_id).toBe(lockfile(dir).cohorts[FR]!.cohort_id);

    // FR vanishes: its members are removed and the instance forgotten.
    writeRows(dir, de);
    const { plan } = await planJson(dir);
    expect(plan.cohorts.find((c) => c.address === FR)).toMatchObject({ actions: ["delete"], members: { before: 2, after: 0, remove: 2 }, set: { address: "cohorts.by_country", key: "FR" } });
    expect(plan.sets?.[0]).toMatchObject({ address: "cohorts.by_country", instances: 1, guards: [{ guard: "max_deleted_instances", status: "pass" }] });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect((await brazeByName(emu))["Country: FR"]).toEqual([]);
    expect(Object.keys(lockfile(dir).cohorts)).toEqual([DE]);
  });

  it("blocks a model that returns no keys instead of emptying every instance (max_deleted_instances, default 10%)", async () => {
    const emu = await start();
    const dir = await setProjectFor(backend, emu);
    writeRows(dir, ["AT", "BE", "CH", "DE"].flatMap((c) => countryRows(c, 2)));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);

    writeRows(dir, []);
    const blocked = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain("4 of 4 instances would be deleted, more than max_deleted_instances (10% of 4 = 1 (at least one))");
    expect(blocked.stderr).not.toMatch(STACK_FRAME);
    const refused = await coho(dir, ["apply", "--auto-approve"]);
    expect(refused.code).toBe(1);
    expect(Object.keys(lockfile(dir).cohorts)).toHaveLength(4);
    expect((await brazeByName(emu))["Country: AT"]).toHaveLength(2);

    const forced = await coho(dir, ["apply", "--auto-approve", "--allow-removals"]);
    expect(forced.code).toBe(0);
    expect(Object.keys(lockfile(dir).cohorts)).toEqual([]);
  });

  it("moves an instance to a new key value and a whole set to a new name without touching Braze's members", async () => {
    const emu = await start();
    const dir = await setProjectFor(backend, emu);
    writeRows(dir, [...countryRows("UK", 3), ...countryRows("DE", 2)]);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const ukId = lockfile(dir).cohorts['cohorts.by_country["UK"]']!.cohort_id;

    // The key value UK becomes GB: moved, renamed, same members.
    writeRows(dir, [...countryRows("GB", 3).map((r, i) => ["GB", `uk-${i}`]), ...countryRows("DE", 2)]);
    rewriteSetYaml(dir, emu, backend, { moved: 'moved:\n  - { from: \'cohorts.by_country["UK"]\', to: \'cohorts.by_country["GB"]\' }\n' });
    const { plan } = await planJson(dir);
    expect(plan.cohorts.find((c) => c.address === 'cohorts.by_country["GB"]')).toMatchObject({ actions: ["move", "update"], moved_from: 'cohorts.by_country["UK"]', members: { add: 0, remove: 0 } });
    let before = emu.log.total;
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect((await requestLog(emu)).filter((r) => r.seq > before).map((r) => r.path.split("/").pop())).toEqual(["cohorts"]);
    expect(lockfile(dir).cohorts['cohorts.by_country["GB"]']!.cohort_id).toBe(ukId);

    // The whole set is renamed: every instance moves.
    rewriteSetYaml(dir, emu, backend, { setKey: "by_nation", moved: "moved:\n  - { from: cohorts.by_country, to: cohorts.by_nation }\n" });
    const moved = await planJson(dir);
    expect(moved.plan.cohorts.map((c) => [c.address, c.actions, c.moved_from])).toEqual([
      ['cohorts.by_nation["DE"]', ["move"], 'cohorts.by_country["DE"]'],
      ['cohorts.by_nation["GB"]', ["move"], 'cohorts.by_country["GB"]'],
    ]);
    before = emu.log.total;
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(emu.log.total).toBe(before);
    expect(Object.keys(lockfile(dir).cohorts).sort()).toEqual(['cohorts.by_nation["DE"]', 'cohorts.by_nation["GB"]']);
  });
});

describe("cohort sets: templates, key values, targets", () => {
  it("renders {key} and {label}, rejects bad key values by reason and reports keys outside `keys:` as ignored", async () => {
    const emu = await start();
    const dir = await setProjectFor("local", emu, {
      select: "country, user_id, label",
      name: "{label} ({key}) {{set}}",
      forEach: "{ key: country, keys: [DE, FR, NL] }",
      extra: '    cohort_id: "adopted-{key}"\n',
    });
    writeRows(dir, [
      ["DE", "d1", "Germany"],
      ["DE", "d2", "Germany"],
      ["DE", null, "Germany"],
      ["FR", "f1", "France"],
      ["IT", "i1", "Italy"],
      [null, "n1"],
      [" ", "e1"],
      ["x".repeat(256), "l1"],
    ]);
    const { plan, code, stderr } = await planJson(dir);
    expect(withoutProgress(stderr)).toBe("");
    expect(code).toBe(0);
    expect(plan.cohorts.map((c) => [c.address, c.actions, c.after?.name, c.after?.cohort_id, c.rows, c.members.add, c.rejected.null])).toEqual([
      [DE, ["adopt"], "Germany (DE) {set}", "adopted-DE", 3, 2, 1],
      [FR, ["adopt"], "France (FR) {set}", "adopted-FR", 1, 1, 0],
    ]);
    expect(plan.sets).toEqual([
      expect.objectContaining({
        address: "cohorts.by_country",
        rows: 8,
        instances: 2,
        rejected_keys: { null: { values: 0, rows: 1 }, empty: { values: 1, rows: 1 }, control_characters: { values: 0, rows: 0 }, too_long: { values: 1, rows: 1 } },
        ignored_keys: { values: 1, rows: 1, sample: ["IT"] },
        missing_keys: ["NL"],
      }),
    ]);
  });

  it("refuses two instances that would share a name, with a located message", async () => {
    const emu = await start();
    const dir = await setProjectFor("local", emu, { select: "country, user_id, label", name: "Country: {label}" });
    writeRows(dir, [["de", "a", "Germany"], ["DE", "b", "Germany"]]);
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: cohorts\.by_country: cohorts\.by_country\["DE"\] and cohorts\.by_country\["de"\] would both be named "Country: Germany"/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("plans one set with --target cohorts.by_country and one instance with --target 'cohorts.by_country[\"DE\"]'", async () => {
    const emu = await start();
    const dir = await setProjectFor("local", emu);
    writeRows(dir, [...countryRows("DE", 2), ...countryRows("FR", 2)]);
    const whole = await planJson(dir, ["--target", "cohorts.by_country"]);
    expect(whole.plan.cohorts.map((c) => c.address)).toEqual([DE, FR]);
    const one = await planJson(dir, ["--target", DE]);
    expect(one.plan.cohorts.map((c) => c.address)).toEqual([DE]);
    const applied = await coho(dir, ["apply", "--auto-approve", "--target", DE]);
    expect(applied.code).toBe(0);
    expect(Object.keys(await brazeByName(emu))).toEqual(["Country: DE"]);
    // Shell completion offers the set and the instances recorded in coho.lock.
    const completed = await coho(dir, ["__complete", "plan", "--target", "cohorts.by"]);
    expect(completed.stdout.split("\n").filter(Boolean)).toEqual(["cohorts.by_country", DE]);
    // A saved plan carries every instance's exact delta.
    const saved = join(dir, "plan.coho");
    expect((await coho(dir, ["plan", "--out", saved])).code).toBe(0);
    expect((await coho(dir, ["apply", saved])).code).toBe(0);
    expect((await brazeByName(emu))["Country: FR"]).toEqual(keys(countryRows("FR", 2)));
    const bad = await coho(dir, ["plan", "--target", "cohorts.by_country[DE]"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("expected a cohort address");
  });

  it("renames every instance when the name template changes, keeps prevent_destroy per instance, and re-targets a whole set", async () => {
    const us = await start();
    const eu = await start();
    const dir = await setProjectFor("local", us, { extra: "    prevent_destroy: true\n    guards: { max_deleted_instances: 100%, max_removals: 100% }\n" });
    writeRows(dir, [...countryRows("DE", 2), ...countryRows("FR", 1200)]);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);

    // A new template renames each instance in Braze: one upsert each, no membership request.
    const yaml = join(dir, "coho.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace('name: "Country: {key}"', 'name: "Market {key}"'));
    const renamed = await planJson(dir);
    expect(renamed.plan.cohorts.map((c) => [c.address, c.actions, c.changed_attributes])).toEqual([[DE, ["update"], ["name"]], [FR, ["update"], ["name"]]]);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(Object.keys(await brazeByName(us)).sort()).toEqual(["Market DE", "Market FR"]);

    // prevent_destroy holds for each instance whose key vanishes.
    writeRows(dir, countryRows("DE", 2));
    const blocked = await coho(dir, ["plan"]);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain(`Blocked: ${FR}: ${FR} has prevent_destroy in state`);
    expect(blocked.stdout).toContain('why:           key value "FR" is no longer among the set\'s key values');

    // Re-target: every instance leaves the old workspace and joins the new one.
    writeRows(dir, [...countryRows("DE", 2), ...countryRows("FR", 1200)]);
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("destinations:\n", `destinations:\n${destinationEntry("eu", eu.url)}`).replace("destination: braze", "destination: eu"));
    const moved = await planJson(dir);
    expect(moved.plan.cohorts.map((c) => [c.address, c.members])).toEqual([
      [DE, { before: 2, after: 2, add: 2, remove: 2 }],
      [FR, { before: 1200, after: 1200, add: 1200, remove: 1200 }],
    ]);
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await brazeByName(us)).toEqual({ "Market DE": [], "Market FR": [] });
    expect(await brazeByName(eu)).toEqual({ "Market DE": keys(countryRows("DE", 2)), "Market FR": keys(countryRows("FR", 1200)) });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});
