import { describe, expect, it } from "vitest";
import type { CohortConfig, MovedBlock } from "../../src/model/project.js";
import type { CohortState, StateView } from "../../src/model/state.js";
import { EMPTY_STATE } from "../../src/model/state.js";
import { evaluateGuards } from "../../src/plan/guards.js";
import { planResources } from "../../src/plan/resource-actions.js";

const origin = { file: "coho.yaml", line: 1, column: 1 };
function cohort(key: string, overrides: Partial<CohortConfig> = {}): CohortConfig {
  return {
    key,
    address: `cohorts.${key}`,
    name: key.toUpperCase(),
    destination: "braze",
    model: "m",
    identifier: "user_id",
    cohortId: undefined,
    guards: { maxRemovals: undefined, allowEmpty: false },
    preventDestroy: false,
    origin,
    ...overrides,
  };
}
function recorded(key: string, overrides: Partial<CohortState> = {}): CohortState {
  return {
    destination: "braze",
    cohort_id: `id-${key}`,
    name: key.toUpperCase(),
    identifier: { name: "user_id", type: "external_id", column: "user_id" },
    model: { name: "m", sql_digest: `sha256:${"0".repeat(64)}`, sql: "select 1" },
    prevent_destroy: false,
    members: { count: 10, digest: `v1:10:${"0".repeat(32)}` },
    snapshot: `.coho/snapshots/id-${key}.parquet`,
    applied_at: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}
function state(entries: Record<string, CohortState>): StateView {
  return { format: "coho-lock", version: 1, lineage: "L", serial: 3, cohorts: entries };
}
function plan(cohorts: CohortConfig[], view: StateView, moved: MovedBlock[] = [], targets: string[] = []) {
  return planResources({ cohorts: new Map(cohorts.map((c) => [c.key, c])), moved }, view, (key) => `new-${key}`, targets);
}
const summary = (p: ReturnType<typeof plan>) => p.decisions.map((d) => [d.address, d.actions.join("+"), d.cohortId, d.changed.join(",")]);

describe("destination identity in resource actions", () => {
  const destination = (restEndpoint: string, partner = "acme") =>
    new Map([["braze", { type: "braze_cohorts", name: "braze", restEndpoint, partner, allowUnknownEndpoint: false, origin } as never]]);
  const identity = "braze_cohorts https://rest.iad-01.braze.com partner=acme";
  const withDestinations = (restEndpoint: string, entry: CohortState, partner?: string) =>
    planResources({ cohorts: new Map([["a", cohort("a")]]), moved: [], destinations: destination(restEndpoint, partner) }, state({ "cohorts.a": entry }), (k) => `new-${k}`);

  it("the same workspace, however the endpoint is spelled, is no change", () => {
    const p = withDestinations("HTTPS://rest.iad-01.braze.com/", recorded("a", { destination_identity: identity }));
    expect(p.decisions[0]!.actions).toEqual(["no-op"]);
  });

  it("another endpoint or partner behind the same name is a re-target", () => {
    for (const p of [withDestinations("https://rest.fra-01.braze.eu", recorded("a", { destination_identity: identity })), withDestinations("https://rest.iad-01.braze.com", recorded("a", { destination_identity: identity }), "other")]) {
      expect(p.decisions[0]!.actions).toEqual(["update"]);
      expect(p.decisions[0]!.changed).toEqual(["destination"]);
      expect(p.decisions[0]!.reason).toContain(`(state: ${identity}): re-target`);
    }
  });

  it("a lockfile written before identities were recorded infers no re-target", () => {
    expect(withDestinations("https://rest.fra-01.braze.eu", recorded("a")).decisions[0]!.actions).toEqual(["no-op"]);
  });
});

describe("resource actions", () => {
  it("create: a cohort state does not know gets a new cohort_id", () => {
    expect(summary(plan([cohort("a")], EMPTY_STATE))).toEqual([["cohorts.a", "create", "new-a", ""]]);
  });

  it("adopt: the config names a cohort_id state does not know", () => {
    const p = plan([cohort("a", { cohortId: "existing-123" })], EMPTY_STATE);
    expect(summary(p)).toEqual([["cohorts.a", "adopt", "existing-123", ""]]);
    expect(p.decisions[0]!.reason).toContain("takes over that existing Braze cohort");
  });

  it("no-op: matches state; the recorded cohort_id is kept", () => {
    expect(summary(plan([cohort("a")], state({ "cohorts.a": recorded("a") })))).toEqual([["cohorts.a", "no-op", "id-a", ""]]);
  });

  it("update: says which attributes change", () => {
    const p = plan([cohort("a", { name: "Renamed", destination: "eu", preventDestroy: true })], state({ "cohorts.a": recorded("a") }));
    expect(summary(p)).toEqual([["cohorts.a", "update", "id-a", "name,destination,prevent_destroy"]]);
    expect(p.decisions[0]!.reason).toContain('renamed in Braze: "A" → "Renamed"');
  });

  it("delete: an address gone from the config; Braze has no delete, so members are removed", () => {
    const p = plan([], state({ "cohorts.gone": recorded("gone") }));
    expect(summary(p)).toEqual([["cohorts.gone", "delete", "id-gone", ""]]);
    expect(p.decisions[0]!.reason).toContain("Braze has no delete");
  });

  it("move: keeps the cohort_id at the new address, and can update at the same time", () => {
    const moved = [{ from: "cohorts.old", to: "cohorts.new", origin }];
    expect(summary(plan([cohort("new", { name: "OLD" })], state({ "cohorts.old": recorded("old") }), moved))).toEqual([["cohorts.new", "move", "id-old", ""]]);
    expect(summary(plan([cohort("new", { name: "Fresh" })], state({ "cohorts.old": recorded("old") }), moved))).toEqual([["cohorts.new", "move+update", "id-old", "name"]]);
  });

  it("move is a no-op once applied, and is ignored (with a warning) when both addresses exist", () => {
    const moved = [{ from: "cohorts.old", to: "cohorts.new", origin }];
    expect(summary(plan([cohort("new")], state({ "cohorts.new": recorded("new") }), moved))).toEqual([["cohorts.new", "no-op", "id-new", ""]]);
    const both = plan([cohort("new")], state({ "cohorts.new": recorded("new"), "cohorts.old": recorded("old") }), moved);
    expect(both.warnings).toEqual(["moved: cohorts.old → cohorts.new is ignored because state already has cohorts.new"]);
    expect(summary(both).map((s) => s[1])).toEqual(["no-op", "delete"]);
  });

  it("refuses to switch cohort_id under an existing address", () => {
    const p = plan([cohort("a", { cohortId: "other" })], state({ "cohorts.a": recorded("a") }));
    expect(p.errors).toEqual(["cohorts.a: cohort_id is other in the config but id-a in state; to switch Braze cohorts, forget this one first with `coho state rm cohorts.a`"]);
  });

  it("refuses a cohort_id that state already holds under another address, naming both", () => {
    const at = { file: "/p/cohorts/b.yaml", line: 7, column: 16 };
    const p = planResources(
      { dir: "/p", cohorts: new Map([["a", cohort("a")], ["b", cohort("b", { cohortId: "id-a", cohortIdOrigin: at })]]), moved: [] },
      state({ "cohorts.a": recorded("a") }),
      (key) => `new-${key}`,
    );
    expect(p.errors).toEqual([
      "cohorts/b.yaml:7:16: cohorts.b: cohort_id id-a is already held in state by cohorts.a; one Braze cohort may belong to one address only. To give it to cohorts.b, use a `moved` block (cohorts.a → cohorts.b) or `coho state rm cohorts.a` first",
    ]);
    // Also when the holder is being deleted: its removals would hit the cohort being adopted.
    expect(plan([cohort("b", { cohortId: "id-a" })], state({ "cohorts.a": recorded("a") })).errors).toHaveLength(1);
    // A moved block hands the cohort over: no conflict.
    const moved = [{ from: "cohorts.a", to: "cohorts.b", origin }];
    expect(plan([cohort("b", { cohortId: "id-a" })], state({ "cohorts.a": recorded("a") }), moved).errors).toEqual([]);
  });

  it("refuses, at plan time, a delete or re-target whose recorded destination is gone from the config", () => {
    const withDestinations = (cohorts: CohortConfig[], names: string[]) =>
      planResources({ cohorts: new Map(cohorts.map((c) => [c.key, c])), moved: [], destinations: new Map(names.map((n) => [n, {} as never])) }, state({ "cohorts.gone": recorded("gone", { destination: "eu" }) }), (k) => `new-${k}`);
    expect(withDestinations([], ["braze"]).errors).toEqual([
      "cohorts.gone (in state) is deleted (not in the configuration), but its members must first be removed through destination eu, which is no longer configured; keep destinations.eu in the configuration until this change is applied, then remove it",
    ]);
    expect(withDestinations([cohort("gone", { destination: "braze" })], ["braze"]).errors[0]).toContain("cohorts.gone (in state) moves to destination braze, but");
    expect(withDestinations([], ["braze", "eu"]).errors).toEqual([]);
    // A --target plan that leaves the delete out does not need the old destination.
    const targeted = planResources({ cohorts: new Map([["a", cohort("a")]]), moved: [], destinations: new Map([["braze", {} as never]]) }, state({ "cohorts.gone": recorded("gone", { destination: "eu" }) }), (k) => `new-${k}`, ["cohorts.a"]);
    expect(targeted.errors).toEqual([]);
  });

  it("adopt: every view is told that members already in the Braze cohort are unknown to coho", () => {
    const p = plan([cohort("a", { cohortId: "existing-123" })], EMPTY_STATE);
    expect(p.warnings).toEqual([expect.stringMatching(/^cohorts\.a adopts Braze cohort existing-123: members the cohort already holds in Braze are unknown to coho/)]);
    expect(p.decisions[0]!.reason).toContain("they stay in the cohort until removed");
  });

  it("--target limits the plan and rejects unknown addresses", () => {
    const p = plan([cohort("a"), cohort("b")], EMPTY_STATE, [], ["cohorts.b", "cohorts.zzz"]);
    expect(p.decisions.map((d) => d.address)).toEqual(["cohorts.b"]);
    expect(p.errors).toEqual(["--target cohorts.zzz: no such cohort in the configuration or the state"]);
  });

  it("--target suggests the cohort a typo was meant for, judged on keys, not the shared cohorts. prefix", () => {
    const p = plan([cohort("recent_buyers"), cohort("b")], EMPTY_STATE, [], ["cohorts.recent_buyer", "recnet_buyers"]);
    expect(p.errors).toEqual([
      "--target cohorts.recent_buyer: no such cohort in the configuration or the state; did you mean `cohorts.recent_buyers`?",
      "--target recnet_buyers: no such cohort in the configuration or the state; did you mean `cohorts.recent_buyers`?",
    ]);
  });
});

describe("guards", () => {
  const members = (before: number, after: number, add: number, remove: number) => ({ before, after, add, remove });
  const base = { address: "cohorts.a", isDelete: false, prior: recorded("a"), allowRemovals: false };

  it("allow_empty blocks emptying a cohort, and --allow-removals overrides it visibly", () => {
    const blocked = evaluateGuards({ ...base, cohort: cohort("a"), members: members(10, 0, 0, 10) });
    expect(blocked).toEqual([{ guard: "allow_empty", status: "blocked", message: "the model returned no members: this would empty the cohort (10 members); set guards.allow_empty: true if intended" }]);
    const overridden = evaluateGuards({ ...base, allowRemovals: true, cohort: cohort("a"), members: members(10, 0, 0, 10) });
    expect(overridden[0]).toMatchObject({ status: "overridden", message: expect.stringContaining("(allowed by --allow-removals)") });
    const allowed = evaluateGuards({ ...base, cohort: cohort("a", { guards: { maxRemovals: undefined, allowEmpty: true } }), members: members(10, 0, 0, 10) });
    expect(allowed).toEqual([]);
  });

  it("max_removals as a count and as a share of current members", () => {
    const count = cohort("a", { guards: { maxRemovals: { kind: "count", value: 5 }, allowEmpty: false } });
    expect(evaluateGuards({ ...base, cohort: count, members: members(100, 95, 0, 5) }).find((g) => g.guard === "max_removals")?.status).toBe("pass");
    expect(evaluateGuards({ ...base, cohort: count, members: members(100, 94, 0, 6) }).find((g) => g.guard === "max_removals")).toEqual({
      guard: "max_removals",
      status: "blocked",
      message: "6 removals exceed max_removals (5)",
    });
    const pct = cohort("a", { guards: { maxRemovals: { kind: "percent", value: 10 }, allowEmpty: false } });
    expect(evaluateGuards({ ...base, cohort: pct, members: members(205, 185, 0, 20) }).find((g) => g.guard === "max_removals")?.status).toBe("pass");
    expect(evaluateGuards({ ...base, cohort: pct, members: members(205, 184, 0, 21) }).find((g) => g.guard === "max_removals")?.message).toBe(
      "21 removals exceed max_removals (10% of 205 = 20)",
    );
  });

  it("prevent_destroy from state blocks a delete, and no flag overrides it", () => {
    const verdicts = evaluateGuards({ ...base, isDelete: true, cohort: undefined, prior: recorded("a", { prevent_destroy: true }), allowRemovals: true, members: members(10, 0, 0, 10) });
    expect(verdicts).toEqual([{ guard: "prevent_destroy", status: "blocked", message: "cohorts.a has prevent_destroy in state: set prevent_destroy: false, apply, then remove it" }]);
  });
});
