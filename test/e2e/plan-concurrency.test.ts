import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { loadProject } from "../../src/config/load-project.js";
import type { Plan } from "../../src/model/plan.js";
import { buildPlan, type PlanEvent } from "../../src/plan/build-plan.js";
import { openSession } from "../../src/plan/session.js";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { emulators } from "../helpers/emulator.js";
import { SECRET_ENV, coho, setProjectEnv } from "../helpers/apply-project.js";
import { createDatabase, destinationEntry, runSql, writeProject } from "../helpers/project.js";

const start = emulators();

/**
 * Groups of every kind at once: a DuckDB model read by a set and by cohorts of
 * two identifiers, a PostgreSQL model read by cohorts of two identifiers (its
 * rows are copied into the engine once), a model with one cohort, and deletes.
 */
function yaml(emu: RunningEmulator, cohorts: readonly string[]): string {
  const all: Record<string, string> = {
    a1: "model: people\n    identifier: user_id",
    a2: "model: people\n    identifier: user_id",
    a3: "model: people\n    identifier: email",
    tiers: 'model: people\n    identifier: user_id\n    for_each: { key: tier }',
    p1: "model: pg_people\n    identifier: user_id",
    p2: "model: pg_people\n    identifier: email",
    lone: "model: lone\n    identifier: user_id",
  };
  return `version: 1
sources:
  duck:
    type: duckdb
  pg:
    type: postgres
    url: \${env:PG_URL}
destinations:
${destinationEntry("braze", emu.url)}models:
  people:
    source: duck
    sql: |
      select user_id, tier, user_id || '@x.io' AS email from read_csv('people.csv', columns = {'user_id': 'VARCHAR', 'tier': 'VARCHAR'})
  pg_people:
    source: pg
    primary_key: user_id
    sql: select user_id, user_id || '@pg.io' AS email from people
  lone:
    source: duck
    sql: |
      select user_id from read_csv('people.csv', columns = {'user_id': 'VARCHAR', 'tier': 'VARCHAR'}) where tier = 'gold'
identifiers:
  user_id: { type: external_id, column: user_id }
  email: { type: alias, column: email, label: email }
cohorts:
${cohorts.map((c) => `  ${c}:\n    name: ${c === "tiers" ? '"Tier {key}"' : c}\n    destination: braze\n    ${all[c]}\n    guards: { max_removals: 100% }\n`).join("")}`;
}

const people = (rows: readonly [string, string][]) => `user_id,tier\n${rows.map((r) => r.join(",")).join("\n")}\n`;

/** Plans in-process on an engine of `threads` workers (1: one group after another). */
async function planOn(dir: string, env: Record<string, string>, threads: number): Promise<{ plan: Omit<Plan, "created_at">; runs: string[] }> {
  const session = await openSession(loadProject(dir, { env: { ...SECRET_ENV, ...env } }).project!, { threads });
  const runs: string[] = [];
  const onEvent = (e: PlanEvent) => {
    if (e.type === "model") runs.push(`${e.model} × ${e.cohorts ?? 1}`);
  };
  try {
    const { plan } = await buildPlan({ ...session, options: { targets: [], allowRemovals: true, showMembers: 10 }, onEvent });
    const { created_at: _created, ...rest } = plan;
    return { plan: rest, runs: runs.sort() };
  } finally {
    await session.close();
  }
}

describe("cohort groups planned side by side", () => {
  it("make the same plan as one group after another, each model running once", async () => {
    const emu = await start();
    const url = await createDatabase(inject("pgUrl"), "concurrency");
    await runSql(url, "CREATE TABLE people (user_id text); INSERT INTO people SELECT 'p' || g FROM generate_series(1, 300) g");
    const env = { PG_URL: url };
    const dir = writeProject({ "coho.yaml": yaml(emu, ["a1", "a2", "a3", "tiers", "p1", "p2", "lone"]), "people.csv": people([]) });
    setProjectEnv(dir, env);
    const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => [`u${from + i}`, ["gold", "silver", "bronze"][(from + i) % 3]!] as [string, string]);
    writeFileSync(join(dir, "people.csv"), people(rows(0, 200)));
    const applied = await coho(dir, ["apply", "--auto-approve", "--json"]); // --json: no progress line on a slow machine
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);

    // Churn everywhere, and two cohorts removed (planned as one group of deletes).
    writeFileSync(join(dir, "people.csv"), people(rows(20, 230)));
    await runSql(url, "DELETE FROM people WHERE user_id IN ('p1', 'p2', 'p3'); INSERT INTO people VALUES ('p900'), ('p901')");
    writeFileSync(join(dir, "coho.yaml"), yaml(emu, ["a1", "a3", "tiers", "p1", "p2"]));

    const sequential = await planOn(dir, env, 1);
    const concurrent = await planOn(dir, env, 4);
    expect(concurrent.plan).toEqual(sequential.plan);
    expect(concurrent.runs).toEqual(["people × 3", "pg_people × 2"]);
    expect(sequential.runs).toEqual(concurrent.runs);
    const byAddress = Object.fromEntries(sequential.plan.cohorts.map((c) => [c.address, [c.actions[0], c.members.add, c.members.remove]]));
    expect(byAddress).toEqual({
      "cohorts.a1": ["update", 30, 20],
      "cohorts.a2": ["delete", 0, 200],
      "cohorts.a3": ["update", 30, 20],
      "cohorts.lone": ["delete", 0, 67],
      "cohorts.p1": ["update", 2, 3],
      "cohorts.p2": ["update", 2, 3],
      'cohorts.tiers["bronze"]': ["update", 10, 6],
      'cohorts.tiers["gold"]': ["update", 10, 7],
      'cohorts.tiers["silver"]': ["update", 10, 7],
    });
  }, 120_000);
});
