/**
 * A small inline-SVG chart (bars and lines over categories) for the HTML
 * history report. Self-contained by design: no script, no font or style from
 * any network; colours come from CSS classes the page defines (light, dark and
 * print). Every drawn value carries `data-value`, so what is drawn can be
 * checked against the records it came from.
 */

export interface SvgSeries {
  readonly name: string;
  readonly kind: "bar" | "line";
  /** A CSS class the page colours (`s1` … `s4`). */
  readonly tone: "s1" | "s2" | "s3" | "s4";
  readonly values: readonly number[];
}

export interface SvgChartInput {
  readonly title: string;
  readonly labels: readonly string[];
  readonly yLabel: string;
  readonly series: readonly SvgSeries[];
}

const WIDTH = 720;
const HEIGHT = 260;
const PAD = { left: 64, right: 16, top: 28, bottom: 56 };

export function svgChart(input: SvgChartInput): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const max = Math.max(1, ...input.series.flatMap((s) => s.values));
  const ticks = niceTicks(max);
  const top = ticks.at(-1)!;
  const n = Math.max(1, input.labels.length);
  const slot = plotW / n;
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const x = (i: number) => PAD.left + slot * i + slot / 2;
  const bars = input.series.filter((s) => s.kind === "bar");
  const barW = Math.max(2, Math.min(28, (slot * 0.7) / Math.max(1, bars.length)));

  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${fix(y(t))}" y2="${fix(y(t))}"/>`);
    parts.push(`<text class="tick" x="${PAD.left - 6}" y="${fix(y(t) + 4)}" text-anchor="end">${compact(t)}</text>`);
  }
  const every = Math.ceil(n / 12);
  input.labels.forEach((label, i) => {
    if (i % every !== 0 && i !== n - 1) return;
    parts.push(`<text class="tick" x="${fix(x(i))}" y="${HEIGHT - PAD.bottom + 16}" text-anchor="middle">${escapeHtml(label)}</text>`);
  });
  bars.forEach((s, b) => {
    s.values.forEach((v, i) => {
      const left = x(i) - (barW * bars.length) / 2 + b * barW;
      parts.push(`<rect class="${s.tone}" data-series="${escapeHtml(s.name)}" data-index="${i}" data-value="${v}" x="${fix(left)}" y="${fix(y(v))}" width="${fix(barW)}" height="${fix(Math.max(0, PAD.top + plotH - y(v)))}"><title>${escapeHtml(`${input.labels[i] ?? ""}: ${s.name} ${v.toLocaleString("en-US")}`)}</title></rect>`);
    });
  });
  for (const s of input.series.filter((s) => s.kind === "line")) {
    const path = s.values.map((v, i) => `${i === 0 ? "M" : "L"}${fix(x(i))},${fix(y(v))}`).join(" ");
    if (s.values.length > 1) parts.push(`<path class="line ${s.tone}" d="${path}"/>`);
    s.values.forEach((v, i) => {
      parts.push(`<circle class="${s.tone}" data-series="${escapeHtml(s.name)}" data-index="${i}" data-value="${v}" cx="${fix(x(i))}" cy="${fix(y(v))}" r="3.5"><title>${escapeHtml(`${input.labels[i] ?? ""}: ${s.name} ${v.toLocaleString("en-US")}`)}</title></circle>`);
    });
  }
  parts.push(`<line class="axis" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}"/>`);
  parts.push(`<text class="ylabel" x="14" y="${fix(PAD.top + plotH / 2)}" transform="rotate(-90 14 ${fix(PAD.top + plotH / 2)})" text-anchor="middle">${escapeHtml(input.yLabel)}</text>`);
  input.series.forEach((s, i) => {
    const lx = PAD.left + i * 170;
    const ly = HEIGHT - 14;
    parts.push(s.kind === "bar" ? `<rect class="${s.tone}" x="${lx}" y="${ly - 9}" width="12" height="10"/>` : `<line class="line ${s.tone}" x1="${lx}" x2="${lx + 14}" y1="${ly - 4}" y2="${ly - 4}"/>`);
    parts.push(`<text class="legend" x="${lx + 18}" y="${ly}">${escapeHtml(s.name)}</text>`);
  });
  const summary = `${input.title}: ${input.series.map((s) => s.name).join(", ")} over ${input.labels.length} applies`;
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(summary)}" xmlns="http://www.w3.org/2000/svg"><title>${escapeHtml(summary)}</title><text class="ctitle" x="${PAD.left}" y="18">${escapeHtml(input.title)}</text>${parts.join("")}</svg>`;
}

/** Round tick values from 0 to at least `max` (about five steps of 1, 2 or 5 × 10^n). */
export function niceTicks(max: number): number[] {
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) {
    ticks.push(Number(t.toPrecision(12)));
    if (t >= max) break;
  }
  return ticks.length >= 2 ? ticks : [0, step];
}

function compact(value: number): string {
  if (value >= 1_000_000) return `${Number((value / 1_000_000).toPrecision(3))}M`;
  if (value >= 10_000) return `${Number((value / 1_000).toPrecision(3))}k`;
  return value.toLocaleString("en-US");
}

function fix(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : "0";
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
