import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlanEvent } from "../../src/plan/build-plan.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { openSession } from "../../src/plan/session.js";
import { memberDigest } from "../../src/state/member-digest.js";
import { coho, SECRET_ENV, setProjectEnv } from "../helpers/apply-project.js";
import { emulators } from "../helpers/emulator.js";
import { SNOWFLAKE_ENV, newSchema, snowflakeSourceYaml, startFakesnow, type RunningFakesnow } from "../helpers/fakesnow.js";
import { destinationEntry, loadValid, writeProject } from "../helpers/project.js";
import { seededRandom } from "../helpers/random.js";

const start = emulators();
let fs: RunningFakesnow;
beforeAll(async () => {
  fs = await startFakesnow();
});
afterAll(async () => {
  await fs?.stop();
});

/** Values that exercise every identifier rule (NUL included: Snowflake text may hold it). */
const EDGE = [
  "", "   ", "\t", " \n ", "\r", "\v\f", "tab\tinside", "ctrl\x01", "del\x7f", "nul\x00x", "\u00a0", "\u3000", " \u2003\u0085\u2028 ", "a\u00a0b", "\u200b",
  "x".repeat(513), "y".repeat(512), "é".repeat(300), "🙂".repeat(200), " padded ", "ünïcødé@x.io", "a'quote", "back\\slash", "Case", "case",
];

function randomRows(rnd: () => number, n: number): (string | null)[] {
  return Array.from({ length: n }, () => {
    const r = rnd();
    if (r < 0.05) return null;
    if (r < 0.15) return EDGE[Math.floor(rnd() * EDGE.length)]!;
    return `user${Math.floor(rnd() * 1500)}@example.com`;
  });
}

describe("push-down into Snowflake (fakesnow): the diff inside the warehouse, snapshots in coho's schema", () => {
  it("MD5_NUMBER_UPPER64/LOWER64 as the stand-in runs them equal Snowflake's documented example and coho's digest halves (its start checked them against Python's hashlib)", async () => {
    const [example] = await fs.sql("PUBLIC", "SELECT TO_VARCHAR(MD5_NUMBER_UPPER64('Snowflake')), TO_VARCHAR(MD5_NUMBER_LOWER64('Snowflake'))");
    expect(example).toEqual(["17145559544104499780", "9203306159527282910"]);
    const words = ["external_id:u00001", "alias:email:ünïcødé@x.io", "🙂"];
    const rows = await fs.sql("PUBLIC", `SELECT TO_VARCHAR(MD5_NUMBER_UPPER64(column1)), TO_VARCHAR(MD5_NUMBER_LOWER64(column1)) FROM VALUES ${words.map((w) => `('${w}')`).join(", ")}`);
    expect(rows).toEqual(words.map((w) => {
      const h = createHash("md5").update(w, "utf8").digest();
      return [h.readBigUInt64BE(0).toString(), h.readBigUInt64BE(8).toString()];
    }));
  });

  it("equals the embedded planner's result on random and edge-case data, trial after trial, and apply folds new snapshots inside Snowflake", async () => {
    const emu = await start();
    const schema = newSchema("pushdown");
    const stateSchema = `${schema.toLowerCase()}_state`;
    const dir = writeProject({
      "coho.yaml": `version: 1
state:
  backend: local
  snapshots: { source: wh, schema: ${stateSchema} }
${snowflakeSourceYaml(fs.url, schema)}destinations:
${destinationEntry("braze", emu.url)}models:
  m: { source: wh, sql: "select email from people" }
identifiers:
  email: { type: alias, column: email, label: email }
cohorts:
  c:
    name: C
    destination: braze
    model: m
    identifier: email
    guards: { max_removals: 100%, allow_empty: true }
`,
    });
    setProjectEnv(dir, SNOWFLAKE_ENV);
    await fs.sql(schema, `CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const rnd = seededRandom(11);
    for (let trial = 0; trial < 2; trial++) {
      const rows = randomRows(rnd, 300 + Math.floor(rnd() * 1200));
      await fs.sql(schema, `CREATE OR REPLACE TABLE ${schema}.people (email VARCHAR)`);
      // The values as one JSON bind (JSON null is SQL NULL once cast), split into rows inside.
      await fs.sql(schema, `INSERT INTO ${schema}.people (email) SELECT f.value::VARCHAR FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:1))) AS f`, [JSON.stringify(rows)]);
      const project = loadValid(dir, { ...SECRET_ENV, ...SNOWFLAKE_ENV });
      const plans = [];
      for (const pushDown of [true, false]) {
        const session = await openSession(project);
        const events: PlanEvent[] = [];
        try {
          const planned = await buildPlan({
            project, backend: session.backend, engine: session.engine, sources: session.sources,
            options: { targets: [], allowRemovals: false, showMembers: 0, pushDown },
            newCohortId: () => "fixed", onEvent: (e) => events.push(e),
          });
          const delta = planned.deltas.get("cohorts.c")!;
          const keys = async (table: string) => (await session.engine.connection.runAndReadAll(`SELECT key FROM ${table} ORDER BY key`)).getRows().map((r) => String(r[0]));
          const cohort = planned.plan.cohorts[0]!;
          plans.push({ pushed: events.some((e) => e.type === "pushed_down"), members: cohort.members, rows: cohort.rows, rejected: cohort.rejected, add: await keys(delta.addTable), remove: await keys(delta.removeTable) });
        } finally {
          await session.close();
        }
      }
      const [pushed, embedded] = plans;
      expect(pushed!.pushed, `trial ${trial}`).toBe(true);
      expect(embedded!.pushed).toBe(false);
      expect({ ...pushed, pushed: undefined }, `trial ${trial}`).toEqual({ ...embedded, pushed: undefined });
      const applied = await coho(dir, ["apply", "--auto-approve"]);
      expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    }
    // The folded snapshot lives in coho's schema, and its digest is the one coho computes over the same keys.
    const lock = JSON.parse(readFileSync(`${dir}/coho.lock`, "utf8")) as { cohorts: Record<string, { snapshot: string; members: { count: number; digest: string } }> };
    const entry = lock.cohorts["cohorts.c"]!;
    expect(entry.snapshot).toMatch(/^snowflake:/);
    const stored = (await fs.sql(schema, `SELECT key FROM ${stateSchema}.snapshot_keys WHERE snapshot = '${entry.snapshot}'`)).map((r) => String(r[0]));
    expect(stored.length).toBe(entry.members.count);
    expect(memberDigest(stored)).toBe(entry.members.digest);
    // Nothing to do after the last apply, planned inside Snowflake.
    const again = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(again.code, again.stdout + again.stderr).toBe(0);

    // A snapshot edited behind coho's back fails its HASH_AGG check (recorded by this warehouse at write): the plan refuses it.
    await fs.sql(schema, `DELETE FROM ${stateSchema}.snapshot_keys WHERE snapshot = '${entry.snapshot}' AND key = (SELECT MIN(key) FROM ${stateSchema}.snapshot_keys WHERE snapshot = '${entry.snapshot}')`);
    const tampered = await coho(dir, ["plan"]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain(`the snapshot ${entry.snapshot} in Snowflake (${stateSchema}.snapshot_keys) does not match the state`);
  }, 300_000);
});
