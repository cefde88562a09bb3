import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutProgress } from "../helpers/cli.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { brazeByName, coho, ids, isMembershipRequest, keysOf, setProjectEnv } from "../helpers/apply-project.js";
import { SNOWFLAKE_ENV, newSchema, replaceSnowflakeMembers, snowflakeSourceYaml, startFakesnow, type RunningFakesnow } from "../helpers/fakesnow.js";
import { destinationEntry, writeProject } from "../helpers/project.js";
import { seededRandom } from "../helpers/random.js";
import { sleep, spawnApply } from "../helpers/spawn-apply.js";
import { memberDigest } from "../../src/state/member-digest.js";

const start = emulators();
/** One stand-in for the whole file; every test works in schemas of its own. */
let fs: RunningFakesnow;
beforeAll(async () => {
  fs = await startFakesnow({ rejectUsers: ["REJECTED"], denyTables: ["SECRET_MEMBERS"] });
});
afterAll(async () => {
  if (process.env.COHO_FAKESNOW_TIMING) {
    const seen = fs.statements() as { sql?: string; at?: number }[];
    const timed = seen.slice(1).map((s, i) => ({ ms: Math.round(((s.at ?? 0) - (seen[i]!.at ?? 0)) * 1000), sql: (seen[i]!.sql ?? "").slice(0, 100).replace(/\s+/g, " ") }));
    console.log(timed.sort((a, b) => b.ms - a.ms).slice(0, 25));
  }
  await fs?.stop();
});

/**
 * Two cohorts over two Snowflake tables of a schema of their own (MEMBERS_A, MEMBERS_B:
 * VARCHAR user_id). `snapshots`: the state keeps its snapshots in Snowflake (the diff
 * is pushed down); otherwise locally (the rows are pulled through).
 */
async function snowflakeProject(emuUrl: string, options: { snapshots?: boolean; source?: string; schema?: string } = {}): Promise<{ dir: string; schema: string; stateSchema: string }> {
  const schema = options.schema ?? newSchema("e2e");
  const stateSchema = `${schema.toLowerCase()}_state`;
  await replaceSnowflakeMembers(fs, schema, "members_a", []);
  await replaceSnowflakeMembers(fs, schema, "members_b", []);
  const guards = "    guards: { max_removals: 100%, allow_empty: true }\n";
  const state = options.snapshots ? `state:\n  backend: local\n  snapshots: { source: wh, schema: ${stateSchema} }\n` : "";
  const dir = writeProject({
    "coho.yaml": `version: 1
${state}${options.source ?? snowflakeSourceYaml(fs.url, schema)}destinations:
${destinationEntry("braze", emuUrl)}models:
  a:
    source: wh
    sql: select user_id from members_a
  b:
    source: wh
    sql: |
      select user_id
      from ${schema}.members_b
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
  });
  setProjectEnv(dir, SNOWFLAKE_ENV);
  return { dir, schema, stateSchema };
}

describe("a Snowflake source (fakesnow, through snowflake-sdk and the built binary)", () => {
  it("with snapshots in Snowflake: creates cohorts with every member, finds nothing to do, then sends exactly the delta, planned inside Snowflake", async () => {
    const emu = await start();
    const { dir, schema, stateSchema } = await snowflakeProject(emu.url, { snapshots: true });
    await replaceSnowflakeMembers(fs, schema, "members_a", ids(2500));
    await replaceSnowflakeMembers(fs, schema, "members_b", ids(10, 50_000));

    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(withoutProgress(first.stderr)).toBe("");
    expect(first.code).toBe(0);
    expect(await brazeByName(emu)).toEqual({ Alpha: keysOf(ids(2500)), Beta: keysOf(ids(10, 50_000)) });
    expect((await requestLog(emu)).filter(isMembershipRequest).map((r) => r.identifiers).sort()).toEqual([10, 1000, 1000, 500]);

    // The snapshots were folded inside Snowflake, their digest the one coho computes over the same keys.
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, { snapshot: string; members: { count: number; digest: string } }> };
    const alpha = lock.cohorts["cohorts.alpha"]!;
    expect(alpha.snapshot).toMatch(/^snowflake:/);
    const stored = (await fs.sql(schema, `SELECT key FROM ${stateSchema}.snapshot_keys WHERE snapshot = '${alpha.snapshot}'`)).map((r) => String(r[0]));
    expect(stored).toHaveLength(2500);
    expect(memberDigest(stored)).toBe(alpha.members.digest);

    const again = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain("No changes. Braze cohorts match the configuration.");

    const next = [...ids(2500).slice(3), "new-1", "new-2"];
    await replaceSnowflakeMembers(fs, schema, "members_a", next);
    const seen = fs.statements().length;
    const planned = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(planned.code, planned.stdout + planned.stderr).toBe(2);
    expect(planned.stdout).toContain("2,500 → 2,499  (+2 / −3)");
    // Planned inside Snowflake: the one-pass diff ran there, against the recorded snapshot.
    const sent = fs.statements().slice(seen);
    expect(sent.some((s) => /WITH coho_groups AS/.test(s.sql ?? "") && /snapshot_keys/.test(s.sql ?? ""))).toBe(true);
    const before = emu.log.total;
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const delta = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(delta.map((r) => r.cohort_changes)).toEqual([[{ user_ids: ["new-1", "new-2"] }, { user_ids: ["u00000", "u00001", "u00002"], should_remove: true }]]);

    // Every statement carries a QUERY_TAG naming coho and the source (and the model and its cohort when it runs one).
    const tags = fs.statements().filter((s) => s.sql !== undefined && s.query_tag !== undefined && s.query_tag !== null);
    const ours = fs.statements().filter((s) => s.query_tag !== null && s.query_tag !== undefined);
    expect(ours.length).toBeGreaterThan(10);
    for (const s of tags) expect(JSON.parse(s.query_tag!)).toMatchObject({ tool: "coho", source: "wh" });
    expect(tags.some((s) => s.query_tag === JSON.stringify({ tool: "coho", source: "wh", model: "a", cohorts: ["alpha"] }))).toBe(true);
  }, 120_000);
});

describe("Snowflake sources through the apply suites' scenarios", () => {
  it("a cohort set over a Snowflake model: one cohort per key value, then only the instance that changed", async () => {
    const emu = await start();
    const schema = newSchema("sets");
    const load = async (rows: string[]) => {
      await fs.sql(schema, `CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await fs.sql(schema, `CREATE OR REPLACE TABLE ${schema}.members (country VARCHAR, user_id VARCHAR)`);
      await fs.sql(schema, `INSERT INTO ${schema}.members (country, user_id) SELECT SPLIT_PART(f.value::VARCHAR, '/', 1), SPLIT_PART(f.value::VARCHAR, '/', 2) FROM TABLE(FLATTEN(INPUT => SPLIT(:1, ','))) AS f`, [rows.join(",")]);
    };
    const rows = (country: string, n: number) => ids(n).map((id) => `${country}/${country}-${id}`);
    await load([...rows("DE", 1200), ...rows("FR", 3)]);
    const dir = writeProject({
      "coho.yaml": `version: 1
state:
  backend: local
  snapshots: { source: wh, schema: ${schema.toLowerCase()}_state }
${snowflakeSourceYaml(fs.url, schema)}destinations:
${destinationEntry("braze", emu.url)}models:
  members: { source: wh, sql: "select country, user_id from members" }
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  by_country:
    name: "Country: {key}"
    destination: braze
    model: members
    identifier: user_id
    for_each: { key: country }
`,
    });
    setProjectEnv(dir, SNOWFLAKE_ENV);
    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const byName = await brazeByName(emu);
    expect(Object.keys(byName).sort()).toEqual(["Country: DE", "Country: FR"]);
    expect(byName["Country: DE"]).toEqual(keysOf(ids(1200).map((id) => `DE-${id}`)));
    await load([...rows("DE", 1200), ...rows("FR", 3).slice(1)]);
    const before = emu.log.total;
    const second = await coho(dir, ["apply", "--auto-approve"]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const sent = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(sent.map((r) => r.cohort_changes)).toEqual([[{ user_ids: ["FR-u00000"], should_remove: true }]]);
  }, 120_000);

  it("pulled through (snapshots kept locally): a saved plan applies exactly its deltas, though the table changed after planning", async () => {
    const emu = await start();
    const { dir, schema } = await snowflakeProject(emu.url);
    await replaceSnowflakeMembers(fs, schema, "members_a", ids(1500));
    await replaceSnowflakeMembers(fs, schema, "members_b", ids(2, 900));
    expect((await coho(dir, ["plan", "--out", join(dir, "first.plan")])).code).toBe(0);
    await replaceSnowflakeMembers(fs, schema, "members_b", ids(5, 900));
    const applied = await coho(dir, ["apply", join(dir, "first.plan")]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await brazeByName(emu)).toEqual({ Alpha: keysOf(ids(1500)), Beta: keysOf(ids(2, 900)) });
    // The next plan reads the table as it is now: the three rows added after planning.
    const next = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(next.code).toBe(2);
    expect(next.stdout).toContain("2 → 5  (+3 / −0)");
  }, 120_000);

  it("with snapshots in Snowflake, after SIGKILL at random moments the next apply converges exactly (4 rounds, the tables changing each round)", async () => {
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 40 });
    const { dir, schema } = await snowflakeProject(emu.url, { snapshots: true });
    const rnd = seededRandom(20261207);
    let resumed = 0;
    for (let round = 0; round < 4; round++) {
      const a = ids(3000).filter(() => rnd() < 0.6);
      const b = ids(1000, 50_000).filter(() => rnd() < 0.5);
      await replaceSnowflakeMembers(fs, schema, "members_a", a);
      await replaceSnowflakeMembers(fs, schema, "members_b", b);
      const before = emu.log.total;
      const victim = spawnApply("binary", dir, { COHO_CONCURRENCY: "1" });
      const deadline = Date.now() + 30_000;
      while (emu.log.total === before && Date.now() < deadline) await sleep(10);
      await sleep(Math.floor(rnd() * 300));
      victim.child.kill("SIGKILL");
      await victim.done;
      const after = await coho(dir, ["apply", "--auto-approve"]);
      expect(after.code, `round ${round}: ${after.stdout}${after.stderr}`).toBe(0);
      if (after.stderr.includes("Found an interrupted apply")) resumed++;
      expect(await brazeByName(emu), `round ${round}`).toEqual({ Alpha: keysOf(a), Beta: keysOf(b) });
    }
    expect(resumed).toBeGreaterThanOrEqual(2);
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  }, 300_000);
});
