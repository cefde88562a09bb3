import kleur from "kleur";
import { markdownText } from "./escape.js";
import { cellCode, count } from "./markdown-blocks.js";
import { touched, type HistoryCohort, type HistoryOutcome, type HistoryRecord } from "../model/history.js";
import type { CohortSeries } from "../model/size-history.js";
import { changingPoints, historyCharts } from "./history-mermaid.js";

/** `coho history`: newest apply first, one headline each, then its cohorts. */
export function renderHistoryHuman(records: readonly HistoryRecord[], address?: string): string {
  if (records.length === 0) return address ? `No apply recorded for ${address}.` : "No apply recorded yet.";
  const blocks = [...records].reverse().map((record) => {
    const t = record.totals;
    const serial = record.serial_before === record.serial_after ? `serial ${record.serial_after}` : `serial ${record.serial_before}→${record.serial_after}`;
    const head = `${record.started_at}  ${outcome(record.outcome)}  ${record.environment === undefined ? "" : `[${record.environment}]  `}${serial}  +${t.added} / −${t.removed}  ${t.requests} req, ${t.retries} retries  by ${record.who}`;
    const cohorts = record.cohorts.filter((c) => (address === undefined || c.address === address) && touched(c)).map(renderCohort);
    const errors = record.errors.map((e) => `    ${kleur.red(e)}`);
    return [head, ...cohorts, ...errors].join("\n");
  });
  return blocks.join("\n");
}

function renderCohort(c: HistoryCohort): string {
  const refused = Object.entries(c.refused).filter(([, n]) => n > 0).map(([reason, n]) => `${n} ${reason}`);
  const parts = [`+${c.added}`, `−${c.removed}`, `${c.requests} req`];
  if (c.retries > 0) parts.push(`${c.retries} retries`);
  if (c.failed > 0) parts.push(kleur.red(`${c.failed} not acknowledged`));
  if (refused.length > 0) parts.push(`refused rows: ${refused.join(", ")}`);
  return `  ${c.address} (${c.actions.join(", ")}): ${c.status}  ${parts.join(", ")}`;
}

function outcome(value: HistoryOutcome): string {
  const padded = value.padEnd(11);
  if (value === "applied" || value === "no_changes") return kleur.green(padded);
  if (value === "interrupted" || value === "cancelled") return kleur.yellow(padded);
  return kleur.red(padded);
}

/**
 * `coho history --markdown`: each apply as a pull-request comment (the GitOps
 * workflow posts the newest one back to the merged pull request). Counts only.
 */
export function renderHistoryMarkdown(records: readonly HistoryRecord[], address?: string, series: readonly CohortSeries[] = []): string {
  if (records.length === 0) return `<!-- coho-apply -->\n${address ? `No apply recorded for \`${address}\`.` : "No apply recorded yet."}\n`;
  const applies = [...records].reverse().map((record) => applyMarkdown(record, address)).join("\n---\n\n");
  // A chart needs two applies to show a change; one apply's numbers are in its table.
  const charts = historyCharts(series.filter((s) => changingPoints(s).length >= 2));
  return charts.length === 0 ? applies : `${applies}\n---\n\n### Cohorts over these applies\n\n${charts.join("\n\n")}\n`;
}

function applyMarkdown(record: HistoryRecord, address: string | undefined): string {
  const t = record.totals;
  const serial = record.serial_before === record.serial_after ? `serial ${record.serial_after}` : `serial ${record.serial_before} → ${record.serial_after}`;
  const lines = [
    "<!-- coho-apply -->",
    `### coho apply${record.environment === undefined ? "" : ` (\`${record.environment}\`)`}: ${OUTCOME_TEXT[record.outcome]}`,
    "",
    `${record.started_at} by ${escapeCell(record.who)}, ${serial}: **+${count(t.added)} / −${count(t.removed)}** members, ${count(t.requests)} request(s), ${count(t.retries)} retr${t.retries === 1 ? "y" : "ies"}${t.failed > 0 ? `, **${count(t.failed)} not acknowledged**` : ""}.`,
  ];
  const cohorts = record.cohorts.filter((c) => address === undefined || c.address === address);
  if (cohorts.length > 0) {
    lines.push("", "| cohort | actions | status | added | removed | not acknowledged | requests | refused rows |", "|---|---|---|---:|---:|---:|---:|---|");
    for (const c of cohorts) {
      const refused = Object.entries(c.refused).filter(([, n]) => n > 0).map(([reason, n]) => `${count(n)} ${reason}`).join(", ") || "0";
      lines.push(`| ${cellCode(c.address)} | ${c.actions.join(", ")} | ${c.status} | ${count(c.added)} | ${count(c.removed)} | ${count(c.failed)} | ${count(c.requests)} | ${refused} |`);
    }
  }
  if (record.errors.length > 0) lines.push("", "**Errors**", "", ...record.errors.map((e) => `- ${escapeCell(e)}`));
  return `${lines.join("\n")}\n`;
}

const OUTCOME_TEXT: Record<HistoryOutcome, string> = {
  applied: "applied ✅",
  no_changes: "no changes",
  blocked: "blocked by the plan ❌",
  cancelled: "cancelled",
  failed: "finished with failures ❌",
  interrupted: "interrupted (the next apply resumes) ⚠️",
  error: "stopped on an error ❌",
};

function escapeCell(text: string): string {
  return markdownText(text);
}
