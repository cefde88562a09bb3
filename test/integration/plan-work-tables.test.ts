import { afterEach, describe, expect, it } from "vitest";
import type { LockfileDoc } from "../../src/model/state.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { sqlDigest } from "../../src/plan/config-digest.js";
import { openSession, type Session } from "../../src/plan/session.js";
import { instanceAddress } from "../../src/model/address.js";
import { snapshotFields } from "../../src/state/snapshot-record.js";
import { DESTINATION_YAML, EMULATOR_ENV, loadValid, writeProject } from "../helpers/project.js";

let sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  sessions = [];
});

/**
 * Rows 1..2000: every 50th NULL, every 70th empty, every 90th with a control
 * character, the rest `u<n>`; the recorded snapshot holds u1..u1000 and u3000..u3099.
 */
const MODEL = `select CASE WHEN g % 50 = 0 THEN NULL WHEN g % 70 = 0 THEN '' WHEN g % 90 = 0 THEN 'u' || g || chr(7) ELSE 'u' || g END AS user_id from range(1, 2001) r(g)`;

/** Plans `cohorts` over model `sql` with the given recorded members (address → keys SQL). */
async function plannedWithRecordedState(sql: string, cohorts: string, recorded: Record<string, string>) {
  const dir = writeProject({
    "coho.yaml": `version: 1
${DESTINATION_YAML}models:
  m:
    sql: ${sql}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
${cohorts}`,
  });
  const project = loadValid(dir, EMULATOR_ENV);
  const session = await openSession(project);
  sessions.push(session);
  const entries: Record<string, LockfileDoc["cohorts"][string]> = {};
  for (const [i, [address, keys]] of Object.entries(recorded).entries()) {
    const saved = await session.backend.saveSnapshot(session.engine, `cohort-${i}`, keys);
    entries[address] = {
      destination: "braze", cohort_id: `cohort-${i}`, name: address, prevent_destroy: false,
      identifier: { name: "user_id", type: "external_id", column: "user_id" },
      model: { name: "m", sql, sql_digest: sqlDigest(sql) },
      ...snapshotFields(saved), applied_at: new Date().toISOString(),
    };
  }
  const doc: LockfileDoc = { format: "coho-lock", version: 1, lineage: "t", serial: 1, cohorts: entries };
  await session.backend.write(doc);
  const planned = await buildPlan({ project, backend: session.backend, engine: session.engine, sources: session.sources, options: { targets: [], allowRemovals: true, showMembers: 0 } });
  const keys = async (relation: string) => (await session.engine.connection.runAndReadAll(`SELECT key FROM ${relation} ORDER BY key`)).getRows().map((r) => String(r[0]));
  const tables = (await session.engine.connection.runAndReadAll("SELECT table_name, column_count, estimated_size FROM duckdb_tables() WHERE database_name = 'memory' ORDER BY table_name")).getRows()
    .map(([name, columns, rows]) => ({ name: String(name), columns: Number(columns), rows: Number(rows) }));
  return { planned, keys, tables };
}

describe("a single cohort's plan keeps only what the diff needs in memory", () => {
  it("one column per model row (rejections named in it) and the verified snapshot read in place, with exact counts and deltas", async () => {
    const { planned, keys, tables } = await plannedWithRecordedState(MODEL, "  c: { name: C, destination: braze, model: m, identifier: user_id }\n", {
      "cohorts.c": "SELECT 'external_id:u' || g AS key FROM range(1, 1001) r(g) UNION ALL SELECT 'external_id:u' || g FROM range(3000, 3100) r(g)",
    });
    const g = Array.from({ length: 2000 }, (_, i) => i + 1);
    const valid = g.filter((n) => n % 50 !== 0 && n % 70 !== 0 && n % 90 !== 0);
    const cohort = planned.plan.cohorts[0]!;
    expect(cohort.rows).toBe(2000);
    expect(cohort.rejected).toEqual({
      null: g.filter((n) => n % 50 === 0).length,
      empty: g.filter((n) => n % 50 !== 0 && n % 70 === 0).length,
      control_characters: g.filter((n) => n % 50 !== 0 && n % 70 !== 0 && n % 90 === 0).length,
      too_long: 0,
      duplicate: 0,
    });
    const delta = planned.deltas.get("cohorts.c")!;
    const want = (ns: number[]) => ns.map((n) => `external_id:u${n}`).sort();
    expect(await keys(delta.addTable)).toEqual(want(valid.filter((n) => n > 1000)));
    expect(await keys(delta.removeTable)).toEqual(want([...g.filter((n) => n <= 1000 && !valid.includes(n)), ...Array.from({ length: 100 }, (_, i) => 3000 + i)]));
    expect(cohort.members).toMatchObject({ before: 1100, after: valid.length, add: valid.filter((n) => n > 1000).length });

    // The work tables left: the model's rows in one column, and no copy of the snapshot.
    expect(tables.filter((t) => t.name.startsWith("coho_snapshot"))).toEqual([]);
    expect(tables.filter((t) => t.name.startsWith("coho_members")).map((t) => t.columns)).toEqual([1]);
  });

  it("a set's rows are kept once as the model returned them (no deduplicated copy), and repeated members are added once and counted as duplicates", async () => {
    const sql = "select * from (values ('a', 'u1'), ('a', 'u1'), ('a', 'u2'), ('a', NULL), ('b', 'u3'), ('b', 'u3'), ('b', 'u4'), ('b', 'u4'), (NULL, 'u5'), ('c', 'u6'), ('c', 'u6')) t(k, user_id)";
    const set = '  s:\n    name: "Set {key}"\n    destination: braze\n    model: m\n    identifier: user_id\n    for_each: { key: k }\n';
    const { planned, keys, tables } = await plannedWithRecordedState(sql, set, {
      [instanceAddress("s", "a")]: "SELECT 'external_id:' || x AS key FROM (VALUES ('u1'), ('u9')) v(x)",
      [instanceAddress("s", "b")]: "SELECT 'external_id:u3' AS key",
    });
    const byAddress = new Map(planned.plan.cohorts.map((c) => [c.address, c]));
    const delta = async (key: string) => {
      const d = planned.deltas.get(instanceAddress("s", key))!;
      return { add: await keys(d.addTable), remove: await keys(d.removeTable) };
    };
    expect(await delta("a")).toEqual({ add: ["external_id:u2"], remove: ["external_id:u9"] });
    expect(await delta("b")).toEqual({ add: ["external_id:u4"], remove: [] });
    expect(await delta("c")).toEqual({ add: ["external_id:u6"], remove: [] });
    const counts = (key: string) => {
      const c = byAddress.get(instanceAddress("s", key))!;
      return { rows: c.rows, members: c.members, null: c.rejected.null, duplicate: c.rejected.duplicate };
    };
    expect(counts("a")).toEqual({ rows: 4, members: { before: 2, after: 2, add: 1, remove: 1 }, null: 1, duplicate: 1 });
    expect(counts("b")).toEqual({ rows: 4, members: { before: 1, after: 2, add: 1, remove: 0 }, null: 0, duplicate: 2 });
    expect(counts("c")).toEqual({ rows: 2, members: { before: 0, after: 1, add: 1, remove: 0 }, null: 0, duplicate: 1 });
    expect(planned.plan.sets![0]!.rejected_keys.null).toEqual({ values: 0, rows: 1 });
    // Every model row once, in two columns (key value; member key or rejection).
    expect(tables.filter((t) => t.name.startsWith("coho_grouped_members")).map((t) => [t.columns, t.rows])).toEqual([[2, 11]]);
  });
});
