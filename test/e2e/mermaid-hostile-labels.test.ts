import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

/**
 * Set keys come from warehouse rows, so a pull request's data decides the
 * labels of the plan comment's Mermaid chart. Whatever they hold, every block
 * must still parse with Mermaid's own parser (a block that does not parse
 * shows GitHub's error box instead of the chart), and no label may carry a
 * Mermaid comment or `%%{init}%%` directive.
 */

const HOSTILE_KEYS = ["%%", "%%%", "%%{init: {'theme':'dark'}}%%", "a]]b", "</script><b>x</b>", "```", "\"quoted\"", "k".repeat(300)];

/** Mermaid's parser needs a DOM (DOMPurify); jsdom gives it one in this worker. */
async function mermaidParser(): Promise<(text: string) => Promise<unknown>> {
  const { JSDOM } = (await import("jsdom" as string)) as { JSDOM: new (html: string) => { window: { document: unknown } } };
  const dom = new JSDOM("<!doctype html><html><body></body></html>");
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
  const { default: mermaid } = await import("mermaid");
  return (text) => mermaid.parse(text);
}

function sqlText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

describe("plan comment charts with hostile cohort set keys", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "coho-mermaid-keys-"));
    const rows = HOSTILE_KEYS.map((key, i) => `('u${i}', ${sqlText(key)})`).join(", ");
    writeFileSync(join(dir, "coho.yaml"), `version: 1
destinations:
  braze:
    type: braze_attributes
    rest_endpoint: https://rest.fra-02.braze.eu
    api_key: \${env:BRAZE_KEY}
sources:
  wh:
    type: duckdb
models:
  keyed:
    source: wh
    sql: |
      select * from (values ${rows.replace(/\n/g, " ")}) t(user_id, k)
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  by_k:
    name: "K {key}"
    destination: braze
    model: keyed
    identifier: user_id
    attribute: { name: coho_ks, value: "{key}" }
    for_each:
      key: k
`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("draws a set chart every block of which Mermaid parses, with no `%%` in any label", async () => {
    const result = await runCli(["plan", "--markdown"], { cwd: dir });
    expect(result.stderr).not.toMatch(/error/);
    expect(result.code).toBe(0);
    const blocks = [...result.stdout.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
    expect(blocks.length).toBe(1);
    expect(blocks[0]).not.toContain("%%");
    const parse = await mermaidParser();
    for (const block of blocks) await expect(parse(block)).resolves.toBeTruthy();
  }, 60_000);
});
