import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { coho } from "../helpers/apply-project.js";
import { emulator } from "../helpers/emulator.js";
import { renderGfm, tablesOf, textOf } from "../helpers/github-markdown.js";
import { destinationEntry, writeProject } from "../helpers/project.js";

/**
 * The plan comment a reviewer reads on GitHub: `coho plan --markdown` from the
 * built binary, rendered by cmark-gfm as github.com renders it.
 */
const LIMIT = 60_000;

function yaml(endpoint: string, models: string, cohorts: string): string {
  return `version: 1\ndestinations:\n${destinationEntry("braze", endpoint)}models:\n${models}identifiers:\n  user_id: { type: external_id, column: user_id }\ncohorts:\n${cohorts}`;
}

const rangeModel = (name: string, from: number, to: number) => `  ${name}:\n    sql: select 'u' || i as user_id from range(${from}, ${to}) t(i)\n`;
const cohort = (key: string, model: string, extra = "") => `  ${key}:\n    name: ${key}\n    destination: braze\n    model: ${model}\n    identifier: user_id\n${extra}`;

describe("the plan comment as GitHub renders it", () => {
  it("over the size limit keeps the headline, whole rows, the cost, the footer and a count of what it left out", async () => {
    const n = 900;
    const keys = Array.from({ length: n }, (_, i) => `audience_with_a_long_descriptive_name_${String(i).padStart(4, "0")}`);
    const dir = writeProject({ "coho.yaml": yaml("http://127.0.0.1:9", `${rangeModel("big", 0, 1500)}${rangeModel("small", 0, 2)}`, [cohort("big_one", "big"), ...keys.map((k) => cohort(k, "small"))].join("")) });
    const result = await coho(dir, ["plan", "--markdown"]);
    expect(result.code, result.stderr).toBe(0);
    const md = result.stdout;
    expect(md.length).toBeLessThanOrEqual(LIMIT);
    const html = renderGfm(md);
    expect(html).toContain("<h3>coho plan: 901 to create, 0 to update, 0 to delete, 0 to move. Members: +3,300 / −0.</h3>");
    const [table, ...others] = tablesOf(html);
    expect(others).toEqual([]);
    // Cohort Import has no attribute updates: no such column.
    expect(table!.header).toEqual(["Cohort", "Action", "Members", "+", "−", "Requests", "Guards"]);
    expect(table!.rows.length).toBeGreaterThan(100);
    expect(table!.rows.length).toBeLessThan(n + 1);
    for (const row of table!.rows) {
      expect(row).toHaveLength(7);
      expect(row[0]).toMatch(/^<code>cohorts\.[a-z_0-9]+<\/code>$/);
      expect(row[1]).toBe("create");
    }
    expect(table!.rows[0]).toEqual(["<code>cohorts.audience_with_a_long_descriptive_name_0000</code>", "create", "0 → 2", "2", "0", "2", ""]);
    expect(table!.rows.find((r) => r[0] === "<code>cohorts.big_one</code>") ?? ["", "", "0 → 1,500"]).toEqual(expect.arrayContaining(["0 → 1,500"]));
    const text = textOf(html);
    expect(text).toContain(`${(n + 1 - table!.rows.length).toLocaleString("en")} table row(s) and the details of 901 cohort(s) were left out to stay under 60,000 characters`);
    expect(text).toMatch(/Cost: 1,803 requests · [\d.]+ s at the rate limit\./);
    expect(html).toMatch(/<sub>coho \d+\.\d+\.\d+ · state serial 0 · \d{4}-/);
  }, 120_000);

  describe("after an apply", () => {
    let emu: RunningEmulator;
    let dir: string;
    beforeAll(async () => {
      emu = await emulator();
      const cohorts = cohort("unguarded", "v1") + cohort("guarded", "g1", "    guards: { max_removals: 5000 }\n") + cohort("small", "s1");
      dir = writeProject({ "coho.yaml": yaml(emu.url, `${rangeModel("v1", 0, 3000)}${rangeModel("g1", 0, 3000)}${rangeModel("s1", 0, 4)}`, cohorts) });
      const applied = await coho(dir, ["apply", "--auto-approve"]);
      expect(applied.code, applied.stderr).toBe(0);
      // Each model now drops 2,000 of its 3,000 members and adds 19,000; the small one drops 1 of 4.
      writeFileSync(join(dir, "coho.yaml"), yaml(emu.url, `${rangeModel("v1", 2000, 22000)}${rangeModel("g1", 2000, 22000)}${rangeModel("s1", 1, 4)}`, cohorts));
    }, 120_000);
    afterAll(async () => emu.close());

    it("SQL changes are diff fences, counts have thousands separators, and a large removal with no guard gets a warning", async () => {
      const result = await coho(dir, ["plan", "--markdown"]);
      expect(result.code, result.stderr).toBe(0);
      const html = renderGfm(result.stdout);
      expect(html.match(/<pre><code class="language-diff">/g)).toHaveLength(3);
      expect(html).toContain("-select 'u' || i as user_id from range(0, 3000) t(i)\n+select 'u' || i as user_id from range(2000, 22000) t(i)");
      const rows = tablesOf(html)[0]!.rows;
      expect(rows.find((r) => r[0] === "<code>cohorts.unguarded</code>")!.slice(1, 5)).toEqual(["update", "3,000 → 20,000", "19,000", "2,000"]);
      const warning = /<blockquote>\s*<p>\[!WARNING\]\nLarge removals that no <code>max_removals<\/code> guard checks:<\/p>\s*<ul>([\s\S]*?)<\/ul>/.exec(html);
      expect(warning, html).not.toBeNull();
      expect(textOf(warning![1]!).trim().split("\n")).toEqual(["cohorts.unguarded: −2,000 of 3,000 members"]);
    });

    it("--show-members with a large N still shows the SQL diff, and a few samples", async () => {
      const result = await coho(dir, ["plan", "--markdown", "--show-members", "100000"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.length).toBeLessThanOrEqual(LIMIT);
      const html = renderGfm(result.stdout);
      expect(html.match(/<pre><code class="language-diff">/g)).toHaveLength(3);
      expect(textOf(html)).toMatch(/Adds, e\.g\.: external_id:u\d+, .* and 18,950 more \(coho plan --show-members prints them\)/);
    });
  });

  it("a set key holding | stays in its own cell", async () => {
    const dir = writeProject({
      "coho.yaml": `version: 1\ndestinations:\n${destinationEntry("braze", "http://127.0.0.1:9")}models:\n  members:\n    sql: select * from (values ('A|B', 'u1'), ('C', 'u2'), ('C', 'u3')) t(country, user_id)\nidentifiers:\n  user_id: { type: external_id, column: user_id }\ncohorts:\n  by_country:\n    name: "Country {key}"\n    destination: braze\n    model: members\n    identifier: user_id\n    for_each: { key: country }\n`,
    });
    const result = await coho(dir, ["plan", "--markdown"]);
    expect(result.code, result.stderr).toBe(0);
    const [summary, instances] = tablesOf(renderGfm(result.stdout));
    expect(summary!.rows).toEqual([["<code>cohorts.by_country</code> (set)", "2 instances: 2 to create, 0 unchanged", "0 → 3", "3", "0", "4", "✅ max_deleted_instances"]]);
    expect(instances!.rows).toEqual([
      ["<code>&quot;A|B&quot;</code>", "create", "0 → 1", "1", "0", ""],
      ["<code>&quot;C&quot;</code>", "create", "0 → 2", "2", "0", ""],
    ]);
  });

  it("a configuration error prints a comment with the errors, under the plan comment's marker", async () => {
    const dir = writeProject({ "coho.yaml": yaml("http://127.0.0.1:9", rangeModel("m", 0, 2), cohort("a", "missing_model")) });
    const result = await coho(dir, ["plan", "--markdown"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^<!-- coho-plan -->\n### coho plan failed\n/);
    const html = renderGfm(result.stdout);
    expect(textOf(html)).toMatch(/The configuration has 1 error; nothing was planned\./);
    expect(textOf(html)).toMatch(/coho\.yaml:\d+:\d+: error: .*missing_model/);
  });
});
