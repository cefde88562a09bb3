import { describe, expect, it } from "vitest";
import { partsOf } from "../../src/apply/execute-group.js";
import { mergedAttributeObjects } from "../../src/destinations/braze-attributes/attributes-body.js";
import { apportion } from "../../src/plan/request-groups.js";

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
    expect(() => mergedAttributeObjects([{ kind: "boolean", name: "coho_vip", onLeave: "false" }], [users[0]!], true)).toThrow(/not bound to an array attribute/);
  });
});
