import { afterEach, describe, expect, inject, it } from "vitest";
import { buildPlan } from "../../src/plan/build-plan.js";
import { openSession, type Session } from "../../src/plan/session.js";
import { createDatabase, DESTINATION_YAML, EMULATOR_ENV, loadValid, runSql, writeProject } from "../helpers/project.js";

let sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  sessions = [];
});

/** Plans one cohort over the given source and SQL; returns its counts and exact deltas. */
async function planOver(sources: string, sql: string, env: Record<string, string> = {}) {
  const dir = writeProject({
    "coho.yaml": `version: 1
${sources}${DESTINATION_YAML}models:
  m:
    sql: |
      ${sql}
identifiers:
  email: { type: alias, column: email, label: email }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: email }
`,
  });
  const project = loadValid(dir, { ...EMULATOR_ENV, ...env });
  const session = await openSession(project);
  sessions.push(session);
  const planned = await buildPlan({ project, backend: session.backend, engine: session.engine, sources: session.sources, options: { targets: [], allowRemovals: false, showMembers: 0 }, newCohortId: () => "fixed" });
  const delta = planned.deltas.get("cohorts.c")!;
  const keys = async (table: string) => (await session.engine.connection.runAndReadAll(`SELECT key FROM ${table} ORDER BY key`)).getRows().map((r) => String(r[0]));
  const cohort = planned.plan.cohorts[0]!;
  return { members: cohort.members, rejected: cohort.rejected, rows: cohort.rows, add: await keys(delta.addTable) };
}

describe("plans over DuckDB and PostgreSQL agree", () => {
  it("on the same rows: the same members, rejections and deltas", async () => {
    const url = await createDatabase(inject("pgUrl"), "plans");
    await runSql(
      url,
      `CREATE TABLE t (email text);
       INSERT INTO t SELECT CASE WHEN g % 97 = 0 THEN NULL WHEN g % 89 = 0 THEN '' ELSE 'user' || (g % 4000) || '@example.com' END FROM generate_series(1, 5000) g;`,
    );
    const viaPg = await planOver("sources:\n  pg:\n    type: postgres\n    url: ${env:PG_URL}\n", "select email from t", { PG_URL: url });
    const viaDuck = await planOver(
      "",
      "select CASE WHEN g % 97 = 0 THEN NULL WHEN g % 89 = 0 THEN '' ELSE 'user' || (g % 4000) || '@example.com' END AS email from range(1, 5001) r(g)",
    );
    expect(viaPg).toEqual(viaDuck);
    expect(viaPg.rows).toBe(5000);
    expect(viaPg.rejected.null).toBe(51);
    expect(viaPg.rejected.empty).toBeGreaterThan(0);
    expect(viaPg.rejected.duplicate).toBeGreaterThan(0);
    expect(viaPg.members.add).toBe(viaPg.add.length);
  });
});
