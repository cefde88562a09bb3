import { describe, expect, it } from "vitest";
import { dashboardUrl } from "../../src/dbt/exposures.js";
import { dbtModelPlan } from "../../src/dbt/plan-info.js";
import { parseRelationName } from "../../src/dbt/relation.js";
import type { CohortConfig, DbtNodeRef, ModelConfig } from "../../src/model/project.js";
import type { CohortState } from "../../src/model/state.js";
import { planResources } from "../../src/plan/resource-actions.js";

const origin = { file: "coho.yaml", line: 1, column: 1 };
const cohort: CohortConfig = {
  key: "vip", address: "cohorts.vip", name: "VIP", destination: "braze", model: "vip", identifier: "user_id",
  cohortId: undefined, guards: { maxRemovals: undefined, allowEmpty: false }, preventDestroy: false, origin,
};
function dbtModel(node: Partial<DbtNodeRef> = {}): ModelConfig {
  const ref: DbtNodeRef = {
    kind: "ref", uniqueId: "model.shop.users_vip", name: "users_vip", packageName: "shop", checksum: "sha256:aaa",
    relation: '"main"."users_vip"', compiledCode: "select 1 where v >= 1000", origin, ...node,
  };
  return { name: "vip", source: "warehouse", primaryKey: undefined, sql: `select * from ${ref.relation}`, sqlOrigin: origin, origin, dbt: { model: ref, dependsOn: [ref] } };
}
function applied(model: ModelConfig, dbt: CohortState["model"]["dbt"]): CohortState {
  return {
    destination: "braze", cohort_id: "id-vip", name: "VIP", identifier: { name: "user_id", type: "external_id", column: "user_id" },
    model: { name: "vip", sql_digest: `sha256:${"0".repeat(64)}`, sql: model.sql, ...(dbt ? { dbt } : {}) },
    prevent_destroy: false, members: { count: 3, digest: `v1:3:${"0".repeat(32)}` }, snapshot: ".coho/snapshots/x.parquet", applied_at: "2026-01-01T00:00:00Z",
  };
}
const lockDbt = { unique_id: "model.shop.users_vip", checksum: "sha256:aaa", compiled_code: "select 1 where v >= 1000" };

function decide(model: ModelConfig, prior: CohortState) {
  const result = planResources({ cohorts: new Map([["vip", cohort]]), moved: [], models: new Map([["vip", model]]) }, { format: "coho-lock", version: 1, lineage: "L", serial: 1, cohorts: { "cohorts.vip": prior } }, () => "new");
  return result.decisions[0]!;
}

describe("dbt models in the resource plan", () => {
  it("an unchanged dbt model is a no-op", () => {
    const model = dbtModel();
    expect(decide(model, applied(model, lockDbt)).actions).toEqual(["no-op"]);
    expect(dbtModelPlan(model, applied(model, lockDbt))).toEqual({ unique_id: "model.shop.users_vip", checksum: "sha256:aaa", relation: '"main"."users_vip"' });
  });

  it("a new checksum is an update that names both checksums, with the compiled SQL diff", () => {
    const model = dbtModel({ checksum: "sha256:bbb", compiledCode: "select 1 where v >= 500" });
    const decision = decide(model, applied(dbtModel(), lockDbt));
    expect(decision.actions).toEqual(["update"]);
    expect(decision.changed).toEqual(["dbt_model"]);
    expect(decision.reason).toBe("dbt model changed: model.shop.users_vip checksum sha256:aaa → sha256:bbb");
    const plan = dbtModelPlan(model, applied(dbtModel(), lockDbt))!;
    expect(plan.previous).toEqual({ unique_id: "model.shop.users_vip", checksum: "sha256:aaa" });
    expect(plan.compiled_diff).toContain("-select 1 where v >= 1000");
    expect(plan.compiled_diff).toContain("+select 1 where v >= 500");
  });

  it("without compiled_code in the manifest the change is still shown, without a diff", () => {
    const model = dbtModel({ checksum: "sha256:bbb", compiledCode: undefined });
    const plan = dbtModelPlan(model, applied(dbtModel(), { unique_id: "model.shop.users_vip", checksum: "sha256:aaa" }))!;
    expect(plan.previous?.checksum).toBe("sha256:aaa");
    expect(plan).not.toHaveProperty("compiled_diff");
  });

  it("a relation built under a new name (same unique_id) is an update of the same cohort", () => {
    const model = dbtModel({ relation: '"main"."vip_users"' });
    const decision = decide(model, applied(dbtModel(), lockDbt));
    expect(decision.actions).toEqual(["update"]);
    expect(decision.cohortId).toBe("id-vip");
    expect(decision.reason).toBe('dbt model model.shop.users_vip is now built as "main"."vip_users": same unique_id, so the cohort follows it');
  });

  it("another dbt node behind the model is named by unique_id", () => {
    const model = dbtModel({ uniqueId: "model.shop.users_vip_v2" });
    expect(decide(model, applied(dbtModel(), lockDbt)).reason).toBe("dbt model model.shop.users_vip → model.shop.users_vip_v2");
  });
});

describe("relation names and dashboards", () => {
  it.each([
    ['"warehouse"."main"."users_vip"', ["warehouse", "main", "users_vip"]],
    ['"db"."Odd ""Name"""."t"', ["db", 'Odd "Name"', "t"]],
    ["analytics.Marketing.USERS", ["analytics", "marketing", "users"]],
    ['main."MixedCase"', ["main", "MixedCase"]],
  ])("parses %s", (text, parts) => {
    expect(parseRelationName(text)).toEqual(parts);
  });

  it.each(['"unterminated', "a.b.c.d", "a..b", "select 1"])("refuses %s (then database/schema/alias are used)", (text) => {
    expect(parseRelationName(text)).toBeUndefined();
  });

  it.each([
    ["https://rest.iad-03.braze.com", "https://dashboard-03.braze.com"],
    ["https://rest.fra-02.braze.eu", "https://dashboard-02.braze.eu"],
    ["https://rest.us-10.braze.com", "https://dashboard.us-10.braze.com"],
    ["https://rest.au-01.braze.com", "https://dashboard.au-01.braze.com"],
    ["http://127.0.0.1:4010", undefined],
  ])("%s → %s", (endpoint, dashboard) => {
    expect(dashboardUrl(endpoint)).toBe(dashboard);
  });
});
