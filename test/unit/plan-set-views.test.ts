import kleur from "kleur";
import { describe, expect, it } from "vitest";
import { instanceAddress } from "../../src/model/address.js";
import type { CohortPlan, Plan, SetPlan } from "../../src/model/plan.js";
import { noRejections } from "../../src/model/reject-reason.js";
import { renderPlanHuman } from "../../src/render/plan-human.js";
import { MARKDOWN_LIMIT, renderPlanMarkdown } from "../../src/render/plan-markdown.js";

const attrs = (key: string) => ({ name: `Country: ${key}`, destination: "braze", cohort_id: `coho-by-country-${key}`, prevent_destroy: false, model: "members", identifier: "user_id" });

/** An instance of cohorts.by_country: every 5th is unchanged, the rest gain members. */
function instance(i: number): CohortPlan {
  const key = `K${String(i).padStart(3, "0")}`;
  const changes = i % 5 !== 0;
  return {
    address: instanceAddress("by_country", key),
    actions: changes ? ["update"] : ["no-op"],
    reason: changes ? "membership changes: +3 / −1" : "matches state",
    before: attrs(key),
    after: attrs(key),
    changed_attributes: changes ? ["members"] : [],
    members: { before: 100, after: changes ? 102 : 100, add: changes ? 3 : 0, remove: changes ? 1 : 0 },
    rows: 102,
    rejected: noRejections(),
    guards: [{ guard: "max_removals", status: "pass", message: "within" }],
    sql_diff: "--- a\n+++ b\n-select 1\n+select 2",
    set: { address: "cohorts.by_country", key },
  };
}

function setPlan(instances: number): SetPlan {
  return {
    address: "cohorts.by_country",
    model: "members",
    key_column: "country",
    rows: 51_000,
    instances,
    rejected_keys: { null: { values: 0, rows: 4 }, empty: { values: 0, rows: 0 }, control_characters: { values: 0, rows: 0 }, too_long: { values: 1, rows: 2 } },
    ignored_keys: { values: 2, rows: 7, sample: ["IT", "ES"] },
    missing_keys: [],
    guards: [{ guard: "max_deleted_instances", status: "pass", message: "0 instance deletions within max_deleted_instances (10% of 500 = 50)" }],
  };
}

function plan(n: number): Plan {
  const cohorts = Array.from({ length: n }, (_, i) => instance(i));
  const changed = cohorts.filter((c) => c.actions[0] !== "no-op");
  return {
    format: "coho-plan",
    format_version: "1.1",
    coho_version: "0.1.0",
    created_at: "2026-01-01T00:00:00.000Z",
    state: { lineage: "l", serial: 1 },
    config_digest: "d",
    applyable: true,
    targets: [],
    allow_removals: false,
    errors: [],
    warnings: [],
    summary: { create: 0, adopt: 0, update: changed.length, delete: 0, move: 0, no_op: n - changed.length, members_add: changed.length * 3, members_remove: changed.length },
    cohorts,
    sets: [setPlan(n)],
  };
}

// The views' text, without colour codes.
kleur.enabled = false;

describe("plan views of a cohort set", () => {
  it("markdown with 500 instances: one summary row for the set, every changed instance in the folded table, under the cap", () => {
    const text = renderPlanMarkdown(plan(500));
    expect(text.length).toBeLessThan(MARKDOWN_LIMIT);
    expect(text).toContain("| `cohorts.by_country` (set) | 500 instances: 400 to update, 100 unchanged | 50,000 → 50,800 | 1,200 | 400 | 0 | ✅ max_deleted_instances |");
    expect(text).toContain("<details><summary><code>cohorts.by_country</code>: 500 instances: 400 to update, 100 unchanged; members +1,200 / −400</summary>");
    // Each changed instance once, unchanged ones not at all; the SQL diff once for the whole set.
    expect(text.match(/^\| `"K\d{3}"` \| update \|/gm)).toHaveLength(400);
    expect(text).not.toContain('`"K000"`');
    expect(text.match(/```diff/g)).toHaveLength(1);
    expect(text).toContain('ignored (not in keys:): 2 value(s), 7 row(s), e.g. "IT", "ES"');
  });

  it("markdown with 5,000 instances stays under the cap and says what it left out", () => {
    const text = renderPlanMarkdown(plan(5000));
    expect(text.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(text).toContain("| `cohorts.by_country` (set) | 5,000 instances: 4,000 to update, 1,000 unchanged |");
    expect(text).toContain("…and 3,500 more changed instances; run `coho plan --target cohorts.by_country` for all of them.");
  });

  it("human: the set's one-line summary and key notes, then details only for instances that change", () => {
    const text = renderPlanHuman(plan(10));
    expect(text).toContain("cohorts.by_country (set: model members, one cohort per country)\n    10 instances: 8 to update, 2 unchanged; members +24 / −8");
    expect(text).toContain("rejected key values: null: 0 value(s), 4 row(s); too_long: 1 value(s), 2 row(s)");
    expect(text).toContain('  ~ cohorts.by_country["K001"] (update)');
    expect(text).not.toContain('cohorts.by_country["K000"]');
  });

  it("markdown: an instance whose rendered attribute changed shows the re-target in its row", () => {
    const base = plan(3);
    const retarget = (c: CohortPlan): CohortPlan => ({ ...c, before: { ...c.before!, target: "boolean:coho_country_K001:false" }, after: { ...c.after!, target: "boolean:coho_market_K001:false" }, changed_attributes: ["target", "members"] });
    const text = renderPlanMarkdown({ ...base, cohorts: base.cohorts.map((c, i) => (i === 1 ? retarget(c) : c)) });
    expect(text).toContain('| `"K001"` (attribute `boolean:coho_country_K001:false` → `boolean:coho_market_K001:false`) | update |');
    expect(text).not.toContain('`"K002"` (attribute');
  });
});
