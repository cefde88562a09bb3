import { describe, expect, it } from "vitest";
import { costText } from "../../src/render/plan-text.js";

describe("the cost of a cohort sharing /users/track requests", () => {
  it("a share that rounds to no whole request says its users ride in the shared ones, not 0 requests", () => {
    const text = costText({ requests: 0, attribute_updates: 3, seconds: 0.01, shared_with: ["cohorts.b"] });
    expect(text).toMatch(/^under 1 request \(its users ride in the shared ones\) · 3 attribute updates/);
    expect(text).not.toMatch(/^0 requests/);
  });

  it("a cohort of its own, or one with nothing to send, keeps the plain count", () => {
    expect(costText({ requests: 0, attribute_updates: 0, seconds: 0 })).toMatch(/^0 requests/);
    expect(costText({ requests: 2, attribute_updates: 80, seconds: 0.01, shared_with: ["cohorts.b"] })).toMatch(/^2 requests · 80 attribute updates/);
  });
});

describe("the apply progress line written to a log", () => {
  it("stays one short line with thousands of cohorts in flight", async () => {
    const { progressLine } = await import("../../src/render/apply-progress.js");
    const { LOG_LINE_COLUMNS } = await import("../../src/cli/apply-progress.js");
    const active = Array.from({ length: 3000 }, (_, i) => `cohorts.by_country["C${i}"]`);
    const line = progressLine({ sent: 10, total: 3_000_000, requests: 4, retries: 0, elapsedMs: 5000, active }, LOG_LINE_COLUMNS);
    expect(line.length).toBeLessThan(LOG_LINE_COLUMNS);
    expect(line).toMatch(/\+\d+ more\]$/);
  });
});
