import { describe, expect, it } from "vitest";
import type { PlanEvent } from "../../src/plan/build-plan.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { openSession } from "../../src/plan/session.js";
import { coho, SECRET_ENV } from "../helpers/apply-project.js";
import { bigQueryEmulatorPerFile, bigQuerySourceYaml, createDataset, emulatorClient, runBigQuery } from "../helpers/bigquery.js";
import { emulators } from "../helpers/emulator.js";
import { destinationEntry, loadValid, writeProject } from "../helpers/project.js";

const start = emulators();
bigQueryEmulatorPerFile();

/**
 * A model with `primary_key`, pushed down into BigQuery (the emulator): its rows go
 * to a work table first, for the uniqueness check, then to the diff. What the
 * warehouse path must get right beyond the keyless push-down: the same result as
 * the embedded planner, the check's refusals, and no work table left behind.
 */
describe("push-down into BigQuery of a model with primary_key", () => {
  it("plans as the embedded planner does, refuses a duplicate key by name, and leaves no table in either dataset", async () => {
    const emu = await start();
    const dataset = await createDataset("pk");
    const stateDataset = `${dataset}_state`;
    const dir = writeProject({
      "coho.yaml": `version: 1
state:
  backend: local
  snapshots: { source: wh, schema: ${stateDataset} }
${bigQuerySourceYaml(dataset)}destinations:
${destinationEntry("braze", emu.url)}models:
  m: { source: wh, sql: "select id, email from ${dataset}.pk_people", primary_key: id }
identifiers:
  email: { type: alias, column: email, label: email }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: email, guards: { max_removals: 100%, allow_empty: true } }
`,
    });
    // Named with its dataset, and a name of this file's own: the emulator ignores
    // defaultDataset and resolves an unqualified name across datasets, and
    // bigquery-pushdown.test.ts, running beside this file, has a `people` of another shape.
    const people = async (rows: readonly (readonly [number | null, string])[]) =>
      runBigQuery(dataset, `CREATE OR REPLACE TABLE ${dataset}.pk_people AS SELECT * FROM UNNEST([${rows.map(([id, e]) => `STRUCT(${id === null ? "CAST(NULL AS INT64)" : id} AS id, '${e}' AS email)`).join(",")}])`);
    const tables = async (name: string) => (await emulatorClient().dataset(name).getTables())[0].map((t) => String(t.id)).sort();

    // A first apply writes the snapshot inside BigQuery; then one member leaves, one joins, one row is rejected.
    await people([[1, "a@x.io"], [2, "b@x.io"], [3, "c@x.io"]]);
    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    await people([[1, "a@x.io"], [2, "b@x.io"], [4, "d@x.io"], [5, "   "]]);
    const project = loadValid(dir, SECRET_ENV);
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
    expect(pushed!.pushed).toBe(true);
    expect(embedded!.pushed).toBe(false);
    expect({ ...pushed, pushed: undefined }).toEqual({ ...embedded, pushed: undefined });
    expect(pushed!.add).toEqual(["alias:email:d@x.io"]);
    expect(pushed!.remove).toEqual(["alias:email:c@x.io"]);

    // The uniqueness check runs inside BigQuery and names the duplicate.
    await people([[1, "a@x.io"], [1, "b@x.io"]]);
    const duplicate = await coho(dir, ["plan"]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain("primary_key `id` is not unique: \"1\" appears 2 times");
    // The work table lived only in the session: the model's dataset holds the model's table, coho's its own.
    expect(await tables(dataset)).toEqual(["pk_people"]);
    expect((await tables(stateDataset)).filter((t) => !/^snapshot_(keys|checks)$/.test(t))).toEqual([]);
  }, 180_000);
});
