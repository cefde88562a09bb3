import type { CohortPlan, Plan } from "../model/plan.js";
import type { CohortSeries, SeriesPoint } from "../model/size-history.js";
import { pastChanges, relativeChange, thousands, timeLabels, unusual } from "./chart-text.js";
import { codeSpan } from "./escape.js";
import { isChange } from "./plan-text.js";

/**
 * Mermaid `xychart-beta` blocks (GitHub draws them in comments and Markdown
 * files): a cohort's size over its recorded applies, with a plan's projected
 * size as the last bar. Every number is a history record's or the plan's.
 */

/** Applies drawn per cohort: enough to see a trend, few enough to read. */
export const CHART_APPLIES = 12;
/** Charts in one plan comment (cohorts by largest relative change, then sets): about 8 KB at most. */
export const CHART_COHORTS = 10;
/** Instances of one cohort set drawn in its compact chart. */
export const CHART_INSTANCES = 10;

export interface XySeries {
  readonly kind: "bar" | "line";
  readonly values: readonly number[];
}

/**
 * One xychart. Labels lose what could end a quoted Mermaid string, a line or
 * the Markdown fence (`"`, line breaks, backticks) or start a Mermaid comment
 * or directive (`%%`), and are cut to 24 characters.
 */
export function xyChart(title: string, labels: readonly string[], yTitle: string, series: readonly XySeries[]): string {
  const all = series.flatMap((s) => s.values);
  const top = niceCeiling(Math.max(1, ...all));
  const bottom = Math.min(0, ...all);
  return [
    "```mermaid",
    "xychart-beta",
    `  title "${label(title, 80)}"`,
    `  x-axis [${labels.map((l) => `"${label(l, 24)}"`).join(", ")}]`,
    `  y-axis "${label(yTitle, 40)}" ${bottom} --> ${top}`,
    ...series.map((s) => `  ${s.kind} [${s.values.join(", ")}]`),
    "```",
  ].join("\n");
}

function label(text: string, max: number): string {
  // `%%` opens a Mermaid comment or `%%{init}%%` directive even inside a quoted
  // label (a set key `%%` fails the whole chart): no two `%` stay adjacent.
  const clean = text.replace(/["`\\]/g, "'").replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ").replace(/%(?=%)/g, "% ").trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** 1, 2, 5 × 10^n at or above `value`: a y-axis top a reader can take in. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** Applies that had something to do for the cohort and whose size after is known. */
export function changingPoints(series: CohortSeries): SeriesPoint[] {
  return series.points.filter((p) => p.members !== null && p.touched);
}

/**
 * The charts of a plan comment: for each changed cohort with recorded history,
 * its size over its last applies and this plan's projected size; for each
 * cohort set, the instances with the largest relative change. Empty when no
 * changed cohort has history.
 */
export function planHistoryCharts(plan: Plan, series: readonly CohortSeries[]): string[] {
  const byAddress = new Map(series.map((s) => [s.address, s]));
  const changed = plan.cohorts.filter((c) => isChange(c) && c.set === undefined);
  const withHistory = changed
    .map((cohort) => {
      const address = cohort.moved_from ?? cohort.address;
      return { cohort, points: changingPoints(byAddress.get(address) ?? { address, points: [] }).slice(-CHART_APPLIES) };
    })
    .filter((entry) => entry.points.length > 0)
    .sort((a, b) => relativeSize(b.cohort) - relativeSize(a.cohort))
    .slice(0, CHART_COHORTS);
  const blocks = withHistory.map(({ cohort, points }) => cohortChart(cohort, points));
  const sets = new Map<string, CohortPlan[]>();
  for (const c of plan.cohorts) if (c.set && isChange(c)) sets.set(c.set.address, [...(sets.get(c.set.address) ?? []), c]);
  for (const [address, instances] of sets) blocks.push(setChart(address, instances));
  return blocks.slice(0, CHART_COHORTS);
}

function relativeSize(cohort: CohortPlan): number {
  const { before, add, remove } = cohort.members;
  return (add + remove) / Math.max(1, before);
}

function cohortChart(cohort: CohortPlan, points: readonly SeriesPoint[]): string {
  const { before, after, add, remove } = cohort.members;
  const labels = [...timeLabels(points.map((p) => p.at)), "this plan"];
  const sizes = [...points.map((p) => p.members ?? 0), after];
  const past = pastChanges(points);
  const odd = unusual(add, remove, past);
  const caption = [
    `${codeSpan(cohort.address)}: members after each of its last ${points.length} appl${points.length === 1 ? "y" : "ies"}; the last bar is this plan's projection: ${thousands(before)} → **${thousands(after)}** (${relativeChange(before, after)}, +${thousands(add)} / −${thousands(remove)}).`,
    past && past.applies >= 2 ? `Earlier applies: median +${thousands(past.medianAdded)} / −${thousands(past.medianRemoved)}, largest +${thousands(past.maxAdded)} / −${thousands(past.maxRemoved)}.` : "",
    odd ? `⚠️ Out of the ordinary: this plan ${odd}.` : "",
  ].filter((line) => line !== "");
  return `${caption.join(" ")}\n\n${xyChart(`${cohort.address}: members`, labels, "members", [{ kind: "bar", values: sizes }, { kind: "line", values: sizes }])}`;
}

/** A set at a glance: its instances with the largest relative change, now (line) and planned (bars). */
function setChart(address: string, instances: readonly CohortPlan[]): string {
  const top = [...instances].sort((a, b) => relativeSize(b) - relativeSize(a)).slice(0, CHART_INSTANCES);
  const labels = top.map((c) => c.set!.key);
  const caption = `${codeSpan(address)} (set): the ${top.length} of ${instances.length} changing instance(s) with the largest relative change; bars: planned members, line: members now.`;
  return `${caption}\n\n${xyChart(`${address}: largest relative changes`, labels, "members", [
    { kind: "bar", values: top.map((c) => c.members.after) },
    { kind: "line", values: top.map((c) => c.members.before) },
  ])}`;
}

/**
 * `coho history --markdown`'s charts: per cohort, members after each apply and
 * what each apply added (bars) and removed (line).
 */
export function historyCharts(series: readonly CohortSeries[]): string[] {
  return series.flatMap((s) => {
    const points = changingPoints(s).slice(-CHART_APPLIES);
    if (points.length === 0) return [];
    const labels = timeLabels(points.map((p) => p.at));
    return [
      [
        `#### ${codeSpan(s.address)}`,
        `Members after each of its last ${points.length} appl${points.length === 1 ? "y" : "ies"} (${thousands(points.at(-1)!.members ?? 0)} now).`,
        xyChart(`${s.address}: members`, labels, "members", [{ kind: "line", values: points.map((p) => p.members ?? 0) }]),
        "Added (bars) and removed (line) per apply.",
        xyChart(`${s.address}: added and removed`, labels, "members", [
          { kind: "bar", values: points.map((p) => p.added) },
          { kind: "line", values: points.map((p) => p.removed) },
        ]),
      ].join("\n\n"),
    ];
  });
}
