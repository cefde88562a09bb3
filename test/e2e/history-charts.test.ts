import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HistoryRecord } from "../../src/model/history.js";
import type { Plan } from "../../src/model/plan.js";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { emulator } from "../helpers/emulator.js";
import { BACKENDS, applyProjectFor, coho, ids, writeMembers } from "../helpers/apply-project.js";

/**
 * The charts of `coho history` and of the plan comment draw exactly the
 * recorded numbers: a history is built through real applies against the
 * emulator, and every drawn point is checked against `coho history --json`.
 * Mermaid blocks go through Mermaid's own parser; the HTML report is opened in
 * headless Chromium with no request allowed to leave the page.
 */

/** Sizes alpha goes through, one apply each (beta stays at 4 after the first). */
const ALPHA_SIZES = [10, 25, 18, 30];

/** Mermaid's parser needs a DOM (DOMPurify); jsdom gives it one in this worker. */
async function mermaidParser(): Promise<(text: string) => Promise<unknown>> {
  // jsdom ships no types of its own; only its constructor and window are used here.
  const { JSDOM } = (await import("jsdom" as string)) as { JSDOM: new (html: string) => { window: { document: unknown } } };
  const dom = new JSDOM("<!doctype html><html><body></body></html>");
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
  const { default: mermaid } = await import("mermaid");
  return (text) => mermaid.parse(text);
}

function mermaidBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
}

function seriesOf(block: string, kind: "bar" | "line"): number[][] {
  return [...block.matchAll(new RegExp(`^\\s*${kind} \\[([^\\]]*)\\]`, "gm"))].map((m) => m[1]!.split(",").map((v) => Number(v.trim())));
}

function membersAfter(records: readonly HistoryRecord[], address: string): number[] {
  return records.flatMap((r) => r.cohorts.filter((c) => c.address === address && (c.added + c.removed > 0 || c.actions.some((a) => a !== "no-op"))).map((c) => c.members!));
}

describe.each(BACKENDS)("history charts (%s state)", (backend) => {
  let emu: RunningEmulator;
  let dir: string;
  let records: HistoryRecord[];
  beforeAll(async () => {
    emu = await emulator();
    dir = await applyProjectFor(backend, emu);
    writeMembers(dir, "b", ids(4, 500));
    for (const size of ALPHA_SIZES) {
      // A sliding window: each apply both adds and removes members.
      writeMembers(dir, "a", ids(size, size));
      expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    }
    records = JSON.parse((await coho(dir, ["history", "--json"])).stdout) as HistoryRecord[];
  }, 180_000);
  afterAll(async () => emu.close());

  it("records each cohort's size in state after every apply", () => {
    expect(membersAfter(records, "cohorts.alpha")).toEqual(ALPHA_SIZES);
    expect(records.at(-1)!.cohorts.find((c) => c.address === "cohorts.beta")!.members).toBe(4);
  });

  it("history --markdown draws each cohort's recorded sizes, added and removed, and Mermaid parses every block", async () => {
    const result = await coho(dir, ["history", "--markdown"]);
    expect(result.code).toBe(0);
    const blocks = mermaidBlocks(result.stdout);
    const alpha = blocks.filter((b) => b.includes('title "cohorts.alpha'));
    expect(alpha).toHaveLength(2);
    expect(seriesOf(alpha[0]!, "line")).toEqual([membersAfter(records, "cohorts.alpha")]);
    const alphaRecords = records.flatMap((r) => r.cohorts.filter((c) => c.address === "cohorts.alpha"));
    expect(seriesOf(alpha[1]!, "bar")).toEqual([alphaRecords.map((c) => c.added)]);
    expect(seriesOf(alpha[1]!, "line")).toEqual([alphaRecords.map((c) => c.removed)]);
    // Beta changed once: one apply is a table row, not a chart.
    expect(blocks.some((b) => b.includes("cohorts.beta"))).toBe(false);
    const parse = await mermaidParser();
    for (const block of blocks) await expect(parse(block)).resolves.toBeTruthy();
    // The parser is a real check: a broken block is refused.
    await expect(parse(blocks[0]!.replace(/\]$/m, ""))).rejects.toThrow();
  });

  it("the plan comment marks this plan's projected size after the recorded ones; --no-charts leaves them out", async () => {
    writeMembers(dir, "a", ids(45, 10));
    const planned = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as Plan;
    const projected = planned.cohorts.find((c) => c.address === "cohorts.alpha")!.members;
    const comment = await coho(dir, ["plan", "--markdown"]);
    expect(comment.code).toBe(0);
    const [chart, ...others] = mermaidBlocks(comment.stdout);
    expect(others).toEqual([]);
    expect(chart).toContain('"this plan"');
    expect(seriesOf(chart!, "bar")).toEqual([[...membersAfter(records, "cohorts.alpha"), projected.after]]);
    expect(comment.stdout).toContain(`30 → **${projected.after}**`);
    await expect((await mermaidParser())(chart!)).resolves.toBeTruthy();
    const without = await coho(dir, ["plan", "--markdown", "--no-charts"]);
    expect(mermaidBlocks(without.stdout)).toEqual([]);
    writeMembers(dir, "a", ids(30, 30));
  });

  it("history --html writes one self-contained page whose drawn values are the recorded ones", async () => {
    const out = join(dir, "report.html");
    const result = await coho(dir, ["history", "--html", out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("report.html");
    const html = readFileSync(out, "utf8");
    expect(html).not.toMatch(/<script|<link|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
    const section = html.slice(html.indexOf('<section id="c-cohorts.2ealpha"'), html.indexOf("</section>", html.indexOf('<section id="c-cohorts.2ealpha"')));
    const drawn = (series: string) => [...section.matchAll(new RegExp(`data-series="${series}" data-index="\\d+" data-value="(\\d+(?:\\.\\d+)?)"`, "g"))].map((m) => Number(m[1]));
    const alphaRecords = records.flatMap((r) => r.cohorts.filter((c) => c.address === "cohorts.alpha"));
    expect(drawn("members")).toEqual(membersAfter(records, "cohorts.alpha"));
    expect(drawn("added")).toEqual(alphaRecords.map((c) => c.added));
    expect(drawn("removed")).toEqual(alphaRecords.map((c) => c.removed));
    expect(drawn("requests")).toEqual(alphaRecords.map((c) => c.requests));
  });
});

describe("the HTML report in a real browser", () => {
  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));
  let emu: RunningEmulator;
  let dir: string;
  let out: string;
  beforeAll(async () => {
    emu = await emulator();
    dir = await applyProjectFor("local", emu);
    for (const size of [3, 8, 5]) {
      writeMembers(dir, "a", ids(size));
      writeMembers(dir, "b", ids(size * 2, 100));
      expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    }
    out = join(dir, "report.html");
    expect((await coho(dir, ["history", "--html", out])).code).toBe(0);
  }, 120_000);
  afterAll(async () => emu.close());

  it("renders every chart as SVG with no request leaving the page, in light and dark mode", async () => {
    // .ci/run installs Debian's chromium; without it this test cannot prove anything.
    expect(chromium, "Debian's chromium is not installed (.ci/run installs it)").toBeDefined();
    const { chromium: launcher } = await import("playwright-core");
    // No network at all: every proxy request would go to a closed port.
    const browser = await launcher.launch({ executablePath: chromium!, args: ["--no-sandbox", "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"], headless: true });
    try {
      for (const colorScheme of ["light", "dark"] as const) {
        const context = await browser.newContext({ colorScheme });
        const page = await context.newPage();
        const requests: string[] = [];
        page.on("request", (request) => requests.push(request.url()));
        await page.goto(pathToFileURL(out).href, { waitUntil: "load" });
        expect(requests).toEqual([pathToFileURL(out).href]);
        const charts = await page.$$eval("svg.chart", (svgs) => svgs.map((svg) => { const box = svg.getBoundingClientRect(); return { width: box.width, height: box.height, marks: svg.querySelectorAll("[data-value]").length }; }));
        // Two cohorts, three charts each, every chart drawn with a size and its marks.
        expect(charts).toHaveLength(6);
        for (const chart of charts) {
          expect(chart.width).toBeGreaterThan(100);
          expect(chart.height).toBeGreaterThan(50);
          expect(chart.marks).toBeGreaterThan(0);
        }
        // Runs in the page: the browser's globals, not this worker's.
        const background = await page.evaluate(() => {
          const page = globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } };
          return page.getComputedStyle(page.document.body).backgroundColor;
        });
        expect(background).toBe(colorScheme === "dark" ? "rgb(13, 17, 23)" : "rgb(255, 255, 255)");
        await context.close();
      }
    } finally {
      await browser.close();
    }
  });
});
