import { afterEach, describe, expect, inject, it } from "vitest";
import { CohoError } from "../../src/model/errors.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { openSession, type Session } from "../../src/plan/session.js";
import { dbtProject, writeManifest } from "../helpers/dbt-project.js";
import { createDatabase, DESTINATION_YAML, EMULATOR_ENV, loadValid, runSql } from "../helpers/project.js";

let sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  sessions = [];
});

/** The v12 fixture as dbt-postgres would write it for database `db`: relations keep their database part. */
function postgresManifest(dir: string, db: string, vipTable = "users_vip"): void {
  writeManifest(dir, (m) => {
    m.metadata.adapter_type = "postgres";
    const vip = m.nodes["model.shop.users_vip"];
    Object.assign(vip, { database: db, schema: "public", alias: vipTable, relation_name: `"${db}"."public"."${vipTable}"` });
    // With quoting off, adapters write unquoted names; PostgreSQL folds them to lower case.
    Object.assign(m.nodes["model.marketing.newsletter"], { database: db, relation_name: `${db}.Marketing.NEWSLETTER` });
  });
}

async function plan(dir: string, url: string) {
  const project = loadValid(dir, { ...EMULATOR_ENV, PG_URL: url });
  const session = await openSession(project);
  sessions.push(session);
  return buildPlan({ project, backend: session.backend, engine: session.engine, sources: session.sources, options: { targets: [], allowRemovals: false, showMembers: 5 }, newCohortId: (k) => `id-${k}` });
}

const yaml = `version: 1
dbt: { manifest: target/manifest.json }
sources:
  pg:
    type: postgres
    url: \${env:PG_URL}
${DESTINATION_YAML}models:
  vip: { dbt: users_vip }
  subscribers:
    sql: select user_id from {{ ref('marketing', 'newsletter') }} where user_id <> 'u-3'
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  vip: { name: VIP, destination: braze, model: vip, identifier: user_id }
  subscribers: { name: Subscribers, destination: braze, model: subscribers, identifier: user_id }
`;

describe("dbt models on a PostgreSQL source", () => {
  it("reads the relations dbt-postgres built, database part included", async () => {
    const url = await createDatabase(inject("pgUrl"), "dbt");
    const db = new URL(url).pathname.slice(1);
    await runSql(url, `CREATE TABLE public.users_vip (user_id text, email text);
      INSERT INTO public.users_vip VALUES ('u-1', 'a@example.com'), ('u-2', 'b@example.com');
      CREATE SCHEMA marketing; CREATE TABLE marketing.newsletter (user_id text);
      INSERT INTO marketing.newsletter VALUES ('u-2'), ('u-3'), ('u-4');`);
    const dir = dbtProject(yaml, null);
    postgresManifest(dir, db);
    const planned = await plan(dir, url);
    const byAddress = new Map(planned.plan.cohorts.map((c) => [c.address, c]));
    expect(byAddress.get("cohorts.vip")!.samples?.add).toEqual(["external_id:u-1", "external_id:u-2"]);
    expect(byAddress.get("cohorts.vip")!.dbt).toMatchObject({ unique_id: "model.shop.users_vip", relation: `"${db}"."public"."users_vip"` });
    expect(byAddress.get("cohorts.subscribers")!.samples?.add).toEqual(["external_id:u-2", "external_id:u-4"]);
  });

  it("names a relation the database does not hold, before any model runs", async () => {
    const url = await createDatabase(inject("pgUrl"), "dbt");
    const db = new URL(url).pathname.slice(1);
    await runSql(url, "CREATE SCHEMA marketing; CREATE TABLE marketing.newsletter (user_id text);");
    const dir = dbtProject(yaml, null);
    postgresManifest(dir, db, "vip_users");
    const error = await plan(dir, url).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(CohoError);
    expect((error as CohoError).code).toBe("dbt.relation_missing");
    expect((error as CohoError).message).toContain(`models.vip: dbt model model.shop.users_vip is built as "${db}"."public"."vip_users", which source pg cannot read`);
    expect((error as CohoError).location).toMatchObject({ file: `${dir}/coho.yaml`, line: 15, column: 15 });
  });
});
