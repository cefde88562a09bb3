import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { MARKDOWN_LIMIT } from "../../src/render/plan-markdown.js";
import { emulator } from "../helpers/emulator.js";
import { FIXTURES, REPO_ROOT } from "../helpers/fixtures.js";
import { BACKENDS, applyProjectFor, coho, ids, writeMembers } from "../helpers/apply-project.js";

/**
 * Golden files for the three plan views. Ids, times, digests and paths are
 * normalised; set UPDATE_GOLDEN=1 to rewrite them after a deliberate change, and
 * review the diff.
 */
const GOLDEN = join(FIXTURES, "golden");
let emu: RunningEmulator;
let dir: string;

function normalise(text: string): string {
  return text
    .replace(/coho-([a-z0-9-]+?)-[0-9a-hjkmnp-tv-z]{10}\b/g, "coho-$1-<id>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/sha256:[0-9a-f]{64}/g, "sha256:<digest>")
    .replace(/"coho_version": "[^"]+"/g, '"coho_version": "<version>"')
    .replace(/coho \d+\.\d+\.\d+/g, "coho <version>");
}

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  const text = normalise(actual);
  if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, "utf8"));
}

describe.each(BACKENDS)("plan views (%s state), identical for both", (backend) => {
beforeAll(async () => {
  emu = await emulator();
  dir = await applyProjectFor(backend, emu, { guards: "    guards: { max_removals: 2 }\n" });
  writeMembers(dir, "a", ids(10));
  writeMembers(dir, "b", ids(5, 100));
  const first = await coho(dir, ["apply", "--auto-approve"]);
  expect(first.code).toBe(0);
  // Now: rename alpha and change its SQL (with rejected rows), drop beta, add gamma.
  const yaml = readFileSync(join(dir, "coho.yaml"), "utf8")
    .replace("name: Alpha", "name: Alpha (renamed)")
    .replace("read_csv('members_a.csv', columns = {'user_id': 'VARCHAR'})", "read_csv('members_a.csv', columns = {'user_id': 'VARCHAR'})\n      where user_id not like 'test-%'")
    .replace(/  beta:\n(    .*\n)+/, "  gamma:\n    name: Gamma\n    destination: braze\n    model: b\n    identifier: user_id\n");
  writeFileSync(join(dir, "coho.yaml"), yaml);
  // Three removals (over alpha's max_removals of 2), one addition, one duplicate, one blank, one test row.
  writeMembers(dir, "a", [...ids(7), "new-1", "new-1", "   ", "test-9"]);
});
afterAll(async () => emu.close());

  it("human", async () => {
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1); // alpha's removals exceed its guard
    golden("plan-human.txt", result.stdout);
  });

  it("json, valid against schema/coho-plan.schema.json", async () => {
    const result = await coho(dir, ["plan", "--json"]);
    const plan = JSON.parse(result.stdout) as unknown;
    const validate = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(join(REPO_ROOT, "schema", "coho-plan.schema.json"), "utf8")) as object);
    expect(validate(plan), JSON.stringify(validate.errors)).toBe(true);
    golden("plan.json", result.stdout);
  });

  it("markdown, with no identifiers unless asked", async () => {
    // Charts of size over time carry apply times: test/e2e/history-charts.test.ts checks them.
    const result = await coho(dir, ["plan", "--markdown", "--no-charts"]);
    golden("plan.md", result.stdout);
    expect(result.stdout).not.toMatch(/u000\d\d|new-1/);
    const shown = await coho(dir, ["plan", "--markdown", "--show-members", "2"]);
    expect(shown.stdout).toContain("`external_id:new-1`");
  });

  it("appends the markdown to GITHUB_STEP_SUMMARY", async () => {
    const summary = join(dir, "summary.md");
    await coho(dir, ["plan"], { GITHUB_STEP_SUMMARY: summary });
    expect(readFileSync(summary, "utf8")).toContain("### coho plan:");
  });

  it("--allow-removals makes the blocked plan applyable and says so", async () => {
    const result = await coho(dir, ["plan", "--allow-removals", "--detailed-exitcode"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("overridden");
  });

  it("--target plans one cohort and says loudly that the plan is partial", async () => {
    const result = await coho(dir, ["plan", "--target", "cohorts.gamma"]);
    expect(result.stdout).toContain("Warning: this plan is partial: only cohorts.gamma (--target)");
    expect(result.stdout).not.toContain("cohorts.alpha");
    const md = await coho(dir, ["plan", "--markdown", "--target", "gamma"]);
    expect(md.stdout).toContain("Partial plan");
  });
});

describe("markdown size", () => {
  it("stays under 60,000 characters with a notice when details are left out", async () => {
    const { renderPlanMarkdown } = await import("../../src/render/plan-markdown.js");
    const base = JSON.parse(normalise((await coho(dir, ["plan", "--json"])).stdout));
    const diff = `--- a\n+++ b\n${"+select 1 -- padding padding padding padding\n".repeat(200)}`;
    const cohorts = Array.from({ length: 60 }, (_, i) => ({ ...base.cohorts[0], address: `cohorts.c${i}`, sql_diff: diff }));
    const text = renderPlanMarkdown({ ...base, cohorts });
    expect(text.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(text).toContain("were left out to stay under 60,000 characters");
    expect(text).toContain("| `cohorts.c59` |");
  });

  it("keeps to a smaller share with --markdown-limit (several environments in one comment), leaving out whole rows only", async () => {
    const { renderPlanMarkdown } = await import("../../src/render/plan-markdown.js");
    const base = JSON.parse(normalise((await coho(dir, ["plan", "--json"])).stdout));
    const cohorts = Array.from({ length: 2_000 }, (_, i) => ({ ...base.cohorts[0], address: `cohorts.c${i}` }));
    const full = renderPlanMarkdown({ ...base, cohorts });
    const share = renderPlanMarkdown({ ...base, cohorts }, { limit: MARKDOWN_LIMIT / 2 });
    expect(full.length).toBeGreaterThan(MARKDOWN_LIMIT / 2);
    expect(share.length).toBeLessThanOrEqual(MARKDOWN_LIMIT / 2);
    expect(share).toMatch(/table row\(s\).* were left out to stay under 30,000 characters/);
    // Every table line that is there is a whole row.
    for (const line of share.split("\n").filter((l) => l.startsWith("| `cohorts."))) expect(line).toMatch(/^\| `cohorts\.c\d+` \|.*\|$/);

    const cli = await coho(dir, ["plan", "--markdown", "--allow-removals", "--markdown-limit", "2000"]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout.length).toBeLessThanOrEqual(2_000);
    const refused = await coho(dir, ["plan", "--markdown", "--markdown-limit", "70000"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--markdown-limit");
    expect(refused.stderr).toContain("from 2,000 to 60,000");
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});
