import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Plan } from "../../src/model/plan.js";
import type { StateView } from "../../src/model/state.js";
import { codeSpan, visible } from "../../src/render/escape.js";
import { renderApplyReport } from "../../src/render/apply-report.js";
import { renderDiagnosticsHuman } from "../../src/render/diagnostics.js";
import { renderPlanHuman } from "../../src/render/plan-human.js";
import { renderPlanJson } from "../../src/render/plan-json.js";
import { renderPlanMarkdown } from "../../src/render/plan-markdown.js";
import { renderStateList } from "../../src/render/state-view.js";
import { FIXTURES } from "../helpers/fixtures.js";

/** A name from a hand-edited lockfile: clears the screen, forges a plan line, flips text. */
const HOSTILE = "Buyers\u001b[2J\u0000\nPlan: 0 to create, 0 to update.\r\u202egnp.exe\u2066";
/** What a terminal must never receive from data: ESC, NUL, CR, bidi controls. */
const RAW = /[\u0000\u001b\r\u202e\u2066]/;

function hostilePlan(): Plan {
  const golden = readFileSync(join(FIXTURES, "golden", "plan.json"), "utf8");
  const plan = JSON.parse(golden) as Plan & { cohorts: any[] };
  const alpha = plan.cohorts[0];
  alpha.before.name = HOSTILE;
  alpha.reason = `renamed in Braze: "${HOSTILE}" → "Alpha"`;
  alpha.samples = { add: ["external_id:a`b``c", `external_id:${HOSTILE}`], remove: ["external_id:`edge"] };
  alpha.sql_diff = "--- a\n+++ b\n-select 1\n+select '\u001b[31m```' as user_id";
  return { ...plan, warnings: [`cohorts.alpha adopts Braze cohort ${HOSTILE}`], errors: [`bad ${HOSTILE}`] };
}

describe("output escaping", () => {
  it("visible() shows controls, line breaks and bidi controls as escapes, and leaves other text alone", () => {
    expect(visible(HOSTILE)).toBe("Buyers\\x1b[2J\\x00\\nPlan: 0 to create, 0 to update.\\r\\u202egnp.exe\\u2066");
    expect(visible("Käufer 🙂 (30 Tage) \u00a0|`")).toBe("Käufer 🙂 (30 Tage) \u00a0|`");
  });

  it("the human plan prints hostile names, samples, reasons and SQL escaped, on their own lines", () => {
    const text = renderPlanHuman(hostilePlan());
    expect(text).not.toMatch(RAW);
    expect(text).toContain("Buyers\\x1b[2J\\x00\\nPlan: 0 to create");
    // No forged line: the only summary line is the real one (this plan has errors, so it says planning failed).
    expect(text.split("\n").filter((l) => /^Plan(:|ning failed:)/.test(l))).toEqual(["Planning failed: 1 error; nothing was compared."]);
  });

  it("the markdown plan escapes the same, and code spans survive backticks", () => {
    const text = renderPlanMarkdown(hostilePlan());
    expect(text).not.toMatch(RAW);
    expect(text).toContain("```external_id:a`b``c```");
    expect(text).toContain("``external_id:`edge``");
    // The SQL diff's own ``` cannot close the fence around it.
    expect(text).toContain("````diff\n");
    expect(text.split("\n").filter((l) => l.startsWith("Plan:") || l.startsWith("### "))).toHaveLength(1);
  });

  it("codeSpan() picks a fence longer than any backtick run and pads edge backticks", () => {
    expect(codeSpan("plain")).toBe("`plain`");
    expect(codeSpan("a`b")).toBe("``a`b``");
    expect(codeSpan("`x")).toBe("`` `x ``");
    expect(codeSpan("a\nb")).toBe("`a\\nb`");
  });

  it("JSON is safe by construction: controls are JSON escapes", () => {
    expect(renderPlanJson(hostilePlan())).not.toMatch(/[\u0000\u001b\r]/);
  });

  it("state lists, apply reports and diagnostics escape too", () => {
    const state = { format: "coho-lock", version: 1, lineage: "L", serial: 1, cohorts: { "cohorts.a": { destination: "braze", cohort_id: "c1", name: HOSTILE, members: { count: 1 }, applied_at: "t" } } } as unknown as StateView;
    expect(renderStateList(state)).not.toMatch(RAW);
    const report = { format: "coho-apply-report", format_version: "1.0", started_at: "", finished_at: "", duration_ms: 1, success: false, interrupted: false, resumed: null, state: { lineage: "L", serial: 1 }, totals: { added: 0, removed: 0, rejected: 0, failed: 0, requests: 0, retries: 0 }, cohorts: [{ address: "cohorts.a", actions: ["update"], status: "failed", added: 0, removed: 0, rejected: 0, failed: 0, requests: 0, retries: 0, duration_ms: 1, error: `Braze said: ${HOSTILE}` }] };
    expect(renderApplyReport(report as never)).not.toMatch(RAW);
    const file = "/p/coho.yaml";
    const diagnostics = renderDiagnosticsHuman([{ severity: "error", code: "x", message: `name ${HOSTILE}`, location: { file, line: 1, column: 1 } }], { cwd: "/p", texts: new Map([[file, `name: "\u202eevil"\n`]]) });
    expect(diagnostics).not.toMatch(RAW);
  });
});

describe("apply notices and the progress line escape lock and state text", () => {
  it("a hostile lock holder or cohort address prints escaped", async () => {
    const { renderApplyEvent } = await import("../../src/render/apply-events.js");
    const { progressLine } = await import("../../src/render/apply-progress.js");
    const waiting = renderApplyEvent({ type: "lock_waiting", holder: HOSTILE } as never);
    expect(waiting?.text).not.toMatch(RAW);
    expect(waiting?.text).toContain("\\x1b[2J");
    const taken = renderApplyEvent({ type: "lock_taken_over", previous: HOSTILE } as never);
    expect(taken?.text).not.toMatch(RAW);
    const line = progressLine({ sent: 1, total: 2, requests: 1, retries: 0, elapsedMs: 1000, active: [`cohorts.${HOSTILE}`] });
    expect(line).not.toMatch(RAW);
  });
});
