import { inject, describe, expect, it } from "vitest";
import { seededRandom } from "../helpers/random.js";
import type { PlanEvent } from "../../src/plan/build-plan.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { openSession } from "../../src/plan/session.js";
import { coho, SECRET_ENV } from "../helpers/apply-project.js";
import { emulators } from "../helpers/emulator.js";
import { createDatabase, destinationEntry, loadValid, runSql, writeProject } from "../helpers/project.js";
import { redshiftStandIn } from "../helpers/redshift-stand-in.js";

const start = emulators();


const EDGE = [
  "", "   ", "\t", " \n ", "\r", "\v\f", "tab\tinside", "ctrl\x01", "del\x7f", "\u00a0",
  "x".repeat(513), "y".repeat(512), "é".repeat(512), "é".repeat(513), "🙂".repeat(300),
  " padded ", "ünïcødé@x.io", "emoji-🙂@x.io", "a'quote", "back\\slash",
];
/** Unicode White_Space only (empty), and look-alikes that are not White_Space or not only it (valid). */
const UNICODE_EDGE = ["\u00a0", "\u3000", " \u2003\u0085\u2028 ", "\u1680\u205f\u202f", "a\u00a0b", "\u200b", "\ufeff"];

/** Random email values: a small universe (so duplicates and overlaps happen), nulls and edge cases. */
function randomRows(rnd: () => number, n: number): (string | null)[] {
  return Array.from({ length: n }, () => {
    const r = rnd();
    if (r < 0.05) return null;
    if (r < 0.12) return EDGE[Math.floor(rnd() * EDGE.length)]!;
    if (r < 0.16) return UNICODE_EDGE[Math.floor(rnd() * UNICODE_EDGE.length)]!;
    return `user${Math.floor(rnd() * 3000)}@example.com`;
  });
}

/**
 * Where push-down runs: PostgreSQL holding the state, or Redshift (its PostgreSQL
 * stand-in, test/helpers/redshift-stand-in.ts) holding the snapshots beside a local
 * coho.lock (PostgreSQL can hold them so too). The warehouse homes run two random
 * trials (the second diffs against a snapshot the first apply folded there): their
 * rules are the same list in another dialect, and the edge values come up in every trial.
 * The state home runs three: no snapshot, a snapshot, and a snapshot written by an
 * apply that itself diffed against one. It ran six; the three others repeated the
 * third with other random rows, each of 500–4,500 rows already holding the edge
 * values (16% of rows) and NULLs.
 */
const HOMES = [
  {
    name: "PostgreSQL holding the state",
    engine: "postgres",
    trials: 3,
    database: (prefix: string) => createDatabase(inject("pgUrl"), prefix),
    state: "state:\n  backend: postgres\n  url: ${env:COHO_STATE_URL}\n",
    env: (url: string) => ({ COHO_STATE_URL: url, WAREHOUSE_URL: url.replace("127.0.0.1", "localhost") }),
  },
  {
    // PostgreSQL holding only the snapshots (state.snapshots), coho.lock local: the warehouse snapshot store in PostgreSQL's dialect.
    name: "PostgreSQL holding the snapshots",
    engine: "postgres",
    trials: 2,
    database: (prefix: string) => createDatabase(inject("pgUrl"), prefix),
    state: "state:\n  backend: local\n  snapshots: { source: pg }\n",
    env: (url: string) => ({ WAREHOUSE_URL: url }),
  },
  {
    name: "Redshift holding the snapshots",
    engine: "redshift",
    trials: 2,
    database: (prefix: string) => redshiftStandIn(prefix),
    state: "state:\n  backend: local\n  snapshots: { source: pg }\n",
    env: (url: string) => ({ WAREHOUSE_URL: url }),
  },
] as const;

describe.each(HOMES)("push-down: the diff inside $name", (home) => {
  it("equals the embedded planner's on random data, trial after trial", async () => {
    const url = await home.database("pushdown");
    await runSql(url, "CREATE TABLE people (email text)");
    const emu = await start();
    const dir = writeProject({
      "coho.yaml": `version: 1
${home.state}sources:
  pg:
    type: ${home.engine}
    url: "\${env:WAREHOUSE_URL}"
destinations:
${destinationEntry("braze", emu.url)}models:
  m:
    sql: select email from people
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
    const env = { ...SECRET_ENV, ...home.env(url) };
    const rnd = seededRandom(7);
    for (let trial = 0; trial < home.trials; trial++) {
      const rows = randomRows(rnd, 500 + Math.floor(rnd() * 4000));
      const values = rows.map((v) => (v === null ? "(NULL)" : `('${v.replace(/'/g, "''")}')`)).join(",");
      await runSql(url, `TRUNCATE people; INSERT INTO people VALUES ${values}`);
      const project = loadValid(dir, env);
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
      // Advance the recorded state so later trials diff against a real snapshot.
      const applied = await coho(dir, ["apply", "--auto-approve"], env);
      expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    }
  }, 180_000);

  it("checks a primary key inside the database: the embedded planner's members when unique, its error when not", async () => {
    const url = await home.database("pushdown_pk");
    await runSql(url, "CREATE TABLE orders (id text, email text); INSERT INTO orders VALUES ('1', 'a@x.io'), ('2', 'a@x.io'), ('3', NULL), ('4', 'b@x.io')");
    const emu = await start();
    const dir = writeProject({
      "coho.yaml": `version: 1
${home.state}sources:
  pg:
    type: ${home.engine}
    url: "\${env:WAREHOUSE_URL}"
destinations:
${destinationEntry("braze", emu.url)}models:
  m:
    primary_key: id
    sql: select id, email from orders
identifiers:
  email: { type: alias, column: email, label: email }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: email }
`,
    });
    const env = { ...SECRET_ENV, ...home.env(url) };
    const plan = async (pushDown: boolean) => {
      const session = await openSession(loadValid(dir, env));
      const events: PlanEvent[] = [];
      try {
        const planned = await buildPlan({
          project: session.project, backend: session.backend, engine: session.engine, sources: session.sources,
          options: { targets: [], allowRemovals: false, showMembers: 0, pushDown }, newCohortId: () => "fixed", onEvent: (e) => events.push(e),
        });
        return { pushed: events.some((e) => e.type === "pushed_down"), cohort: planned.plan.cohorts[0] };
      } catch (error) {
        return { pushed: events.some((e) => e.type === "pushed_down"), error: (error as Error).message };
      } finally {
        await session.close();
      }
    };
    const [pushed, embedded] = [await plan(true), await plan(false)];
    expect(pushed.pushed).toBe(true);
    expect(pushed.cohort!.members).toEqual({ before: 0, after: 2, add: 2, remove: 0 });
    expect({ ...pushed, pushed: undefined }).toEqual({ ...embedded, pushed: undefined });
    await runSql(url, "INSERT INTO orders VALUES ('4', 'c@x.io')");
    const [pushedError, embeddedError] = [await plan(true), await plan(false)];
    expect(pushedError.error).toMatch(/primary_key `id` is not unique: "4" appears 2 times/);
    expect(pushedError.error).toBe(embeddedError.error);
  }, 60_000);
});
