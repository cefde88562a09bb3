import { afterEach, describe, expect, it } from "vitest";
import type { LockfileDoc } from "../../src/model/state.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { sqlDigest } from "../../src/plan/config-digest.js";
import { openSession, type Session } from "../../src/plan/session.js";
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

async function plannedWithRecordedState() {
  const dir = writeProject({
    "coho.yaml": `version: 1
${DESTINATION_YAML}models:
  m:
    sql: ${MODEL}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: user_id }
`,
  });
  const project = loadValid(dir, EMULATOR_ENV);
  const session = await openSession(project);
  sessions.push(session);
  const recorded = "SELECT 'external_id:u' || g AS key FROM range(1, 1001) r(g) UNION ALL SELECT 'external_id:u' || g FROM range(3000, 3100) r(g)";
  const saved = await session.backend.saveSnapshot(session.engine, "cohort-c", recorded);
  const doc: LockfileDoc = {
    format: "coho-lock", version: 1, lineage: "t", serial: 1,
    cohorts: {
      "cohorts.c": {
        destination: "braze", cohort_id: "cohort-c", name: "C", prevent_destroy: false,
        identifier: { name: "user_id", type: "external_id", column: "user_id" },
        model: { name: "m", sql: MODEL, sql_digest: sqlDigest(MODEL) },
        ...snapshotFields(saved), applied_at: new Date().toISOString(),
      },
    },
  };
  await session.backend.write(doc);
  const planned = await buildPlan({ project, backend: session.backend, engine: session.engine, sources: session.sources, options: { targets: [], allowRemovals: false, showMembers: 0 } });
  return { session, planned };
}

describe("a single cohort's plan keeps only what the diff needs in memory", () => {
  it("one column per model row (rejections named in it) and the verified snapshot read in place, with exact counts and deltas", async () => {
    const { session, planned } = await plannedWithRecordedState();
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
    const keys = async (relation: string) => (await session.engine.connection.runAndReadAll(`SELECT key FROM ${relation} ORDER BY key`)).getRows().map((r) => String(r[0]));
    const delta = planned.deltas.get("cohorts.c")!;
    const want = (ns: number[]) => ns.map((n) => `external_id:u${n}`).sort();
    expect(await keys(delta.addTable)).toEqual(want(valid.filter((n) => n > 1000)));
    expect(await keys(delta.removeTable)).toEqual(want([...g.filter((n) => n <= 1000 && !valid.includes(n)), ...Array.from({ length: 100 }, (_, i) => 3000 + i)]));
    expect(cohort.members).toMatchObject({ before: 1100, after: valid.length, add: valid.filter((n) => n > 1000).length });

    // The work tables left: the model's rows in one column, and no copy of the snapshot.
    const tables = (await session.engine.connection.runAndReadAll("SELECT table_name, column_count FROM duckdb_tables() WHERE database_name = 'memory' ORDER BY table_name")).getRows();
    const names = tables.map(([name]) => String(name));
    expect(names.filter((n) => n.startsWith("coho_snapshot"))).toEqual([]);
    const members = tables.filter(([name]) => String(name).startsWith("coho_members"));
    expect(members.map(([, columns]) => Number(columns))).toEqual([1]);
  });
});
