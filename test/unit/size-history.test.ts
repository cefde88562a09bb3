import { describe, expect, it } from "vitest";
import type { HistoryCohort, HistoryRecord } from "../../src/model/history.js";
import { noRejections } from "../../src/model/reject-reason.js";
import { cohortSeries } from "../../src/model/size-history.js";
import { timeLabels } from "../../src/render/chart-text.js";
import { xyChart } from "../../src/render/history-mermaid.js";
import { niceTicks } from "../../src/render/svg-chart.js";

function record(at: string, cohorts: Partial<HistoryCohort>[]): HistoryRecord {
  return {
    format: "coho-history", format_version: "1.0", id: at, started_at: at, finished_at: at, who: "t@h", coho_version: "0", outcome: "applied",
    lineage: "l", serial_before: 0, serial_after: 1, resumed: null, errors: [],
    totals: { added: 0, removed: 0, failed: 0, requests: 0, retries: 0, refused: 0 },
    cohorts: cohorts.map((c) => ({ address: "cohorts.a", actions: ["update"], status: "done", added: 0, removed: 0, failed: 0, requests: 1, retries: 0, refused: noRejections(), ...c })),
  };
}

describe("cohort size series", () => {
  it("takes recorded sizes as they are and works older ones back from the next known size", () => {
    const records = [
      record("2026-12-01T10:00:00Z", [{ added: 10 }]),
      record("2026-12-02T10:00:00Z", [{ added: 5, removed: 3 }]),
      record("2026-12-03T10:00:00Z", [{ added: 4, removed: 1, members: 15 }]),
      record("2026-12-04T10:00:00Z", [{ added: 0, removed: 5 }]),
    ];
    const [series] = cohortSeries(records, new Map([["cohorts.a", 10]]));
    expect(series!.points.map((p) => [p.members, p.derived])).toEqual([[10, true], [12, true], [15, false], [10, true]]);
  });

  it("leaves a size unknown when nothing later anchors it", () => {
    const [series] = cohortSeries([record("2026-12-01T10:00:00Z", [{ added: 3 }])]);
    expect(series!.points[0]!.members).toBeNull();
  });
});

describe("chart text", () => {
  it("labels apply times by the minute, with seconds when two share a minute, without the date on one day", () => {
    expect(timeLabels(["2026-12-01T10:00:00Z", "2026-12-02T11:30:00Z"])).toEqual(["12-01 10:00", "12-02 11:30"]);
    expect(timeLabels(["2026-12-01T10:00:01Z", "2026-12-01T10:00:09Z"])).toEqual(["10:00:01", "10:00:09"]);
    expect(timeLabels(["2026-12-01T10:00:01Z", "2026-12-01T10:00:09Z", "2026-12-02T10:00:09Z"])).toEqual(["12-01 10:00:01", "12-01 10:00:09", "12-02 10:00:09"]);
  });

  it("keeps labels from closing Mermaid's quoted strings, the line or the Markdown fence", () => {
    const chart = xyChart('a "b" `c`\nd', ['k"1', "```", "x\ny"], "members", [{ kind: "bar", values: [1, 2, 3] }]);
    const body = chart.split("\n").slice(1, -1).join("\n");
    expect(body).not.toContain("`");
    expect(body.split("\n")).toHaveLength(5);
    expect(body).toMatch(/x-axis \["k'1", "'''", "x y"\]/);
  });

  it("ticks are round numbers reaching the maximum", () => {
    expect(niceTicks(1720)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
  });
});
