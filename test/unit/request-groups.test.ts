import { describe, expect, it } from "vitest";
import { partsOf } from "../../src/apply/execute-group.js";
import { mergedAttributeObjects } from "../../src/destinations/braze-attributes/attributes-body.js";
import type { DestinationConfig } from "../../src/model/project.js";
import { apportion, requestGroups, type Groupable } from "../../src/plan/request-groups.js";
import { sharedText } from "../../src/render/plan-text.js";

describe("request groups", () => {
  it("apportion splits a total by weights, exactly, largest remainder first, ties to the earlier part", () => {
    expect(apportion(2, [100, 20])).toEqual([2, 0]);
    expect(apportion(3, [1, 1, 1, 1])).toEqual([1, 1, 1, 0]);
    expect(apportion(5, [3, 1])).toEqual([4, 1]);
    expect(apportion(1, [0, 0])).toEqual([1, 0]);
    expect(apportion(0, [5, 5])).toEqual([0, 0]);
    for (const [total, weights] of [[7, [3, 3, 3]], [13, [1, 50, 7, 0]], [1, [1, 1]]] as const) {
      expect(apportion(total, weights).reduce((a, b) => a + b, 0)).toBe(total);
    }
  });

  it("a shared request splits back into each cohort's members, and builds one object per user with add and remove", () => {
    const users = [
      { key: "external_id:u1", add: [0], remove: [1] },
      { key: "alias:email:a@x", add: [], remove: [0] },
      { key: "external_id:u2", add: [1, 2], remove: [] },
    ];
    expect(partsOf({ index: 0, users }, 3)).toEqual([
      { add: ["external_id:u1"], remove: ["alias:email:a@x"] },
      { add: ["external_id:u2"], remove: ["external_id:u1"] },
      { add: ["external_id:u2"], remove: [] },
    ]);
    const bindings = [
      { kind: "array", name: "coho_cohorts", value: "vip" },
      { kind: "array", name: "coho_cohorts", value: "churned" },
      { kind: "array", name: "coho_cohorts", value: "new" },
    ] as const;
    expect(mergedAttributeObjects(bindings, users, true)).toEqual([
      { external_id: "u1", _update_existing_only: true, coho_cohorts: { add: ["vip"], remove: ["churned"] } },
      { user_alias: { alias_name: "a@x", alias_label: "email" }, _update_existing_only: true, coho_cohorts: { remove: ["vip"] } },
      { external_id: "u2", _update_existing_only: true, coho_cohorts: { add: ["churned", "new"] } },
    ]);
  });

  it("a shared request carries boolean values and array changes side by side, one object per user", () => {
    const bindings = [
      { kind: "boolean", name: "coho_vip", onLeave: "false" },
      { kind: "boolean", name: "coho_churn", onLeave: "unset" },
      { kind: "array", name: "coho_cohorts", value: "beta" },
    ] as const;
    const users = [
      { key: "external_id:u1", add: [0, 2], remove: [1] },
      { key: "external_id:u2", add: [1], remove: [0, 2] },
      { key: "alias:email:a@x", add: [], remove: [1] },
    ];
    expect(mergedAttributeObjects(bindings, users, false)).toEqual([
      { external_id: "u1", _update_existing_only: false, coho_vip: true, coho_churn: null, coho_cohorts: { add: ["beta"] } },
      { external_id: "u2", _update_existing_only: false, coho_churn: true, coho_vip: false, coho_cohorts: { remove: ["beta"] } },
      { user_alias: { alias_name: "a@x", alias_label: "email" }, _update_existing_only: false, coho_churn: null },
    ]);
  });

  it("when a removed cohort leaves the attribute (or value) a new cohort joins, the join wins; boolean and array of one name never meet in a join", () => {
    const bindings = [
      { kind: "boolean", name: "coho_vip", onLeave: "false" },
      { kind: "boolean", name: "coho_vip", onLeave: "unset" },
      { kind: "array", name: "coho_cohorts", value: "vip" },
      { kind: "array", name: "coho_cohorts", value: "vip" },
      { kind: "array", name: "coho_vip", value: "x" },
    ] as const;
    const [first, second] = mergedAttributeObjects(bindings, [
      { key: "external_id:u1", add: [1, 3], remove: [0, 2] },
      { key: "external_id:u2", add: [], remove: [1, 0] },
    ], true);
    expect(first).toEqual({ external_id: "u1", _update_existing_only: true, coho_vip: true, coho_cohorts: { add: ["vip"] } });
    expect(second).toEqual({ external_id: "u2", _update_existing_only: true, coho_vip: null });
    // A leave of the boolean and a join of the array of that name: the join's value alone.
    expect(mergedAttributeObjects(bindings, [{ key: "external_id:u3", add: [4], remove: [0] }], true)[0]).toEqual({ external_id: "u3", _update_existing_only: true, coho_vip: { add: ["x"] } });
    expect(() => mergedAttributeObjects(bindings, [{ key: "external_id:u4", add: [0, 4], remove: [] }], true)).toThrow(/written as a boolean and as an array/);
  });
});

describe("the grouping rule", () => {
  const attributes = (name: string, updateExistingOnly = true): DestinationConfig =>
    ({ name, type: "braze_attributes", batchSize: 75, updateExistingOnly, rateLimit: { requests: 3000, windowSeconds: 3 }, maxArrayValues: 500 }) as unknown as DestinationConfig;
  const destinations = new Map<string, DestinationConfig>([
    ["track", attributes("track")],
    ["other", attributes("other", false)],
    ["partner", { name: "partner", type: "braze_cohorts" } as unknown as DestinationConfig],
  ]);
  const side = (destination: string, target: string | undefined) => ({ name: "N", destination, cohort_id: "id", prevent_destroy: false, model: "m", identifier: "i", ...(target ? { target } : {}) });
  const cohort = (address: string, destination: string, target: string | undefined, more: Partial<Groupable> = {}): Groupable => ({
    address,
    actions: ["update"],
    changed_attributes: [],
    before: side(destination, target),
    after: side(destination, target),
    members: { before: 10, after: 10, add: 1, remove: 1 },
    ...more,
  }) as Groupable;

  it("every boolean and array cohort of one braze_attributes destination forms one group; other destinations, re-targets, no-ops and the cohort road stay alone", () => {
    const groups = requestGroups(destinations, [
      cohort("cohorts.e", "track", "array:coho_cohorts:beta"),
      cohort("cohorts.a", "track", "boolean:coho_vip:false"),
      cohort("cohorts.b", "track", "boolean:coho_gold:unset"),
      cohort("cohorts.c", "track", "array:coho_other:x"),
      cohort("cohorts.d", "track", "boolean:coho_new:false", { before: null, actions: ["create"], members: { before: 0, after: 5, add: 5, remove: 0 } }),
      cohort("cohorts.gone", "track", "boolean:coho_old:false", { after: null, actions: ["delete"], members: { before: 5, after: 0, add: 0, remove: 5 } }),
      cohort("cohorts.moved", "track", "boolean:coho_x2:false", { before: side("track", "boolean:coho_x:false"), changed_attributes: ["target"] }),
      cohort("cohorts.still", "track", "boolean:coho_still:false", { actions: ["no-op"], members: { before: 3, after: 3, add: 0, remove: 0 } }),
      cohort("cohorts.unchanged", "track", "boolean:coho_same:false", { members: { before: 3, after: 3, add: 0, remove: 0 } }),
      cohort("cohorts.elsewhere", "other", "boolean:coho_vip:false"),
      cohort("cohorts.p1", "partner", undefined),
      cohort("cohorts.p2", "partner", undefined),
    ]);
    expect(groups.map((g) => g.map((c) => c.address))).toEqual([["cohorts.a", "cohorts.b", "cohorts.c", "cohorts.d", "cohorts.e", "cohorts.gone"]]);
  });

  it("two destinations each form their own group; a lone changing cohort is no group", () => {
    const groups = requestGroups(destinations, [
      cohort("cohorts.a", "track", "boolean:coho_a:false"),
      cohort("cohorts.b", "other", "boolean:coho_b:false"),
      cohort("cohorts.c", "other", "array:coho_c:v"),
      cohort("cohorts.d", "track", "boolean:coho_d:false"),
    ]);
    expect(groups.map((g) => g.map((c) => c.address))).toEqual([["cohorts.a", "cohorts.d"], ["cohorts.b", "cohorts.c"]]);
    expect(requestGroups(destinations, [cohort("cohorts.a", "track", "boolean:coho_a:false")])).toEqual([]);
  });

  it("the human view names up to five cohorts a request group is shared with, then counts the rest", () => {
    const cost = (n: number) => ({ requests: 1, attribute_updates: 1, seconds: 0, shared_with: Array.from({ length: n }, (_, i) => `cohorts.c${i}`) });
    expect(sharedText(cost(0))).toBe("");
    expect(sharedText(cost(5))).toBe(" (its share: requests shared with cohorts.c0, cohorts.c1, cohorts.c2, cohorts.c3, cohorts.c4, one object per user)");
    expect(sharedText(cost(999))).toBe(" (its share: requests shared with cohorts.c0, cohorts.c1, cohorts.c2, cohorts.c3 and 995 more cohorts, one object per user)");
  });
});
