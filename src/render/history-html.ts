import type { HistoryRecord } from "../model/history.js";
import type { CohortSeries, SeriesPoint } from "../model/size-history.js";
import { timeLabels } from "./chart-text.js";
import { escapeHtml, svgChart } from "./svg-chart.js";

/**
 * `coho history --html FILE`: one self-contained page. Inline CSS and SVG only:
 * no script, no font, image or style from any network (the page's Content
 * Security Policy forbids every fetch), readable in dark mode and on paper.
 * Per cohort: members after each apply, added and removed per apply, requests
 * and duration per apply, each with the table of its numbers under it.
 */
export function renderHistoryHtml(records: readonly HistoryRecord[], series: readonly CohortSeries[], meta: { readonly generatedAt: string; readonly project: string }): string {
  const drawn = series.filter((s) => s.points.some((p) => p.touched));
  const sections = drawn.map((s) => cohortSection(s));
  const first = records[0]?.started_at;
  const last = records.at(-1)?.started_at;
  const span = first && last ? `${records.length} apply record(s) from ${escapeHtml(first)} to ${escapeHtml(last)}` : "No apply recorded yet.";
  const toc = drawn.length > 1 ? `<nav><h2>Cohorts</h2><ul>${drawn.map((s) => `<li><a href="#${anchor(s.address)}">${escapeHtml(s.address)}</a></li>`).join("")}</ul></nav>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>coho history: ${escapeHtml(meta.project)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>coho history: ${escapeHtml(meta.project)}</h1>
<p class="meta">${span}. Generated ${escapeHtml(meta.generatedAt)}. Every figure is a recorded apply's; sizes marked * were worked back from a later apply (records older than coho's size field).</p>
</header>
${toc}
${sections.length > 0 ? sections.join("\n") : "<p>No cohort has been changed by a recorded apply.</p>"}
</body>
</html>
`;
}

function cohortSection(series: CohortSeries): string {
  const points = series.points.filter((p) => p.touched);
  const labels = timeLabels(points.map((p) => p.at));
  const sized = points.filter((p) => p.members !== null);
  const membersChart = sized.length > 0
    ? svgChart({ title: "Members after each apply", labels: timeLabels(sized.map((p) => p.at)), yLabel: "members", series: [{ name: "members", kind: "line", tone: "s1", values: sized.map((p) => p.members!) }] })
    : `<p class="note">No recorded size for this cohort yet.</p>`;
  const changeChart = svgChart({
    title: "Added and removed per apply",
    labels,
    yLabel: "members",
    series: [
      { name: "added", kind: "bar", tone: "s2", values: points.map((p) => p.added) },
      { name: "removed", kind: "bar", tone: "s3", values: points.map((p) => p.removed) },
    ],
  });
  const costChart = svgChart({
    title: "Requests and duration per apply",
    labels,
    yLabel: "requests / seconds",
    series: [
      { name: "requests", kind: "bar", tone: "s4", values: points.map((p) => p.requests) },
      { name: "duration (s)", kind: "line", tone: "s1", values: points.map((p) => Math.round(p.duration_ms / 100) / 10) },
    ],
  });
  return `<section id="${anchor(series.address)}">
<h2>${escapeHtml(series.address)}</h2>
<figure>${membersChart}</figure>
<figure>${changeChart}</figure>
<figure>${costChart}</figure>
${table(points)}
</section>`;
}

function table(points: readonly SeriesPoint[]): string {
  const rows = points.map((p) => `<tr><td>${escapeHtml(p.at)}</td><td>${escapeHtml(p.outcome)}</td><td class="n">${p.members === null ? "" : `${p.members.toLocaleString("en-US")}${p.derived ? "*" : ""}`}</td><td class="n">${p.added.toLocaleString("en-US")}</td><td class="n">${p.removed.toLocaleString("en-US")}</td><td class="n">${p.requests.toLocaleString("en-US")}</td><td class="n">${(p.duration_ms / 1000).toFixed(1)}</td></tr>`);
  return `<table><thead><tr><th>apply started</th><th>outcome</th><th>members after</th><th>added</th><th>removed</th><th>requests</th><th>duration (s)</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function anchor(address: string): string {
  return `c-${[...address].map((c) => (/[A-Za-z0-9_-]/.test(c) ? c : `.${c.codePointAt(0)!.toString(16)}`)).join("")}`;
}

const CSS = `
:root { --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --grid: #d1d9e0; --s1: #0969da; --s2: #1a7f37; --s3: #cf222e; --s4: #8250df; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --grid: #3d444d; --s1: #4493f8; --s2: #3fb950; --s3: #f85149; --s4: #ab7df8; } }
@media print { :root { --fg: #000; --muted: #333; --bg: #fff; --grid: #bbb; } section { break-inside: avoid-page; } nav { display: none; } }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 2rem auto; max-width: 760px; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; border-bottom: 1px solid var(--grid); padding-bottom: .25rem; margin-top: 2.5rem; }
.meta, .note { color: var(--muted); }
figure { margin: 1rem 0; }
svg.chart { max-width: 100%; height: auto; }
svg text { fill: var(--fg); font-size: 11px; } svg .ctitle { font-size: 13px; font-weight: 600; } svg .tick { fill: var(--muted); }
svg .grid { stroke: var(--grid); stroke-width: 1; } svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .line { fill: none; stroke-width: 2; }
svg .s1 { fill: var(--s1); stroke: var(--s1); } svg .s2 { fill: var(--s2); stroke: var(--s2); } svg .s3 { fill: var(--s3); stroke: var(--s3); } svg .s4 { fill: var(--s4); stroke: var(--s4); }
svg path.line { fill: none; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--grid); padding: .2rem .4rem; text-align: left; } td.n, th:nth-child(n+3) { text-align: right; }
`;
