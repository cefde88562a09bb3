import type { CohortPlan, GuardVerdict, Plan } from "../model/plan.js";
import { groupBySet, setKeyNotes, setSummary, type SetGroup } from "./plan-sets.js";
import { hasChanges } from "../model/plan.js";
import { codeSpan, markdownText, visibleLines } from "./escape.js";
import { actionLabel, blockedMessages, costText, warehouseLines, dbtChangeText, isChange, rejectedText, summaryLine } from "./plan-text.js";

/** GitHub's comment limit is 65,536 characters; stay well under it. */
export const MARKDOWN_LIMIT = 60_000;
/** An invisible marker, so a workflow can find and update its own comment. */
export const COMMENT_MARKER = "<!-- coho-plan -->";

/**
 * A pull-request comment: a headline with totals, a table, details folded. No
 * identifiers unless the plan carries samples (--show-members).
 */
export function renderPlanMarkdown(plan: Plan, options: { readonly charts?: readonly string[] } = {}): string {
  const head: string[] = [COMMENT_MARKER, `### coho plan: ${hasChanges(plan) ? summaryLine(plan).replace(/^Plan: /, "") : "no changes"}`, ""];
  if (plan.targets.length > 0) head.push(`> [!WARNING]\n> Partial plan (${codeSpan(`--target ${plan.targets.join(" ")}`)}): other cohorts were not planned.`, "");
  const blocked = blockedMessages(plan);
  if (!plan.applyable) {
    head.push("> [!CAUTION]\n> This plan cannot be applied:");
    for (const message of [...plan.errors, ...blocked]) head.push(`> - ${escape(message)}`);
    head.push("");
  }
  for (const warning of plan.warnings) head.push(`> [!NOTE]\n> ${escape(warning)}`, "");
  const { plain, sets } = groupBySet(plan);
  const changed = plain.filter(isChange);
  const changedSets = sets.filter((g) => g.instances.some(isChange) || g.set?.guards.some((guard) => guard.status !== "pass"));
  if (changed.length + changedSets.length > 0) {
    head.push("| Cohort | Action | Members | + | − | Requests | Attribute updates | Guards |", "|---|---|---|---:|---:|---:|---:|---|");
    for (const c of changed) head.push(`| ${codeSpan(c.address)} | ${actionLabel(c)} | ${c.members.before} → ${c.members.after} | ${c.members.add} | ${c.members.remove} | ${c.cost?.requests ?? ""} | ${c.cost?.attribute_updates ?? ""} | ${guardCell(c.guards)} |`);
    for (const g of changedSets) head.push(setRow(g));
    head.push("");
    if (plan.cost) head.push(`**Cost:** ${costText(plan.cost)}.`, "");
    for (const line of warehouseLines(plan)) head.push(line, "");
    const shared = changed.filter((c) => (c.cost?.shared_with?.length ?? 0) > 0);
    if (shared.length > 0) head.push(`Cohorts ${shared.map((c) => codeSpan(c.address)).join(", ")} share requests (one object per user): each row shows its share.`, "");
  }
  // Size over recorded applies, with this plan's projection (bounded in count, so the budget holds).
  if (options.charts && options.charts.length > 0) head.push("#### Size over time", "", ...options.charts.flatMap((chart) => [chart, ""]));
  const details = [...changed.map(detailsOf), ...changedSets.map(setDetails)].filter((d): d is string => d !== undefined);
  const footer = `<sub>coho ${plan.coho_version} · state serial ${plan.state.serial} · ${plan.created_at}</sub>`;
  return fit(head.join("\n"), details, footer);
}

/** One table row for a whole set: its instances' totals. */
function setRow(group: SetGroup): string {
  const sum = (f: (c: CohortPlan) => number) => group.instances.reduce((n, c) => n + f(c), 0);
  const instanceGuards = group.instances.flatMap((c) => c.guards.filter((g) => g.status !== "pass"));
  return `| ${codeSpan(group.address)} (set) | ${escape(setSummary(group).split(";")[0]!)} | ${sum((c) => c.members.before)} → ${sum((c) => c.members.after)} | ${sum((c) => c.members.add)} | ${sum((c) => c.members.remove)} | ${sum((c) => c.cost?.requests ?? 0)} | ${sum((c) => c.cost?.attribute_updates ?? 0)} | ${guardCell([...(group.set?.guards ?? []), ...instanceGuards])} |`;
}

/** Instance rows shown per set: enough for hundreds, bounded so one set cannot crowd out the rest. */
const MAX_INSTANCE_ROWS = 500;

/** A set's folded details: key notes, the model's SQL diff once, and a row per instance that changes. */
function setDetails(group: SetGroup): string {
  const changed = group.instances.filter(isChange);
  const parts = setKeyNotes(group.set).map(escape);
  for (const g of group.set?.guards.filter((g) => g.status !== "pass") ?? []) parts.push(`Guard ${g.guard}: ${escape(g.message)}`);
  const diff = group.instances.find((c) => c.sql_diff)?.sql_diff;
  if (diff) parts.push("```diff\n" + visibleLines(diff).replace(/```/g, "ˋˋˋ") + "\n```");
  const rows = changed.slice(0, MAX_INSTANCE_ROWS).map((c) => {
    const name = c.after && c.before && c.after.name !== c.before.name ? ` (rename to "${escape(c.after.name)}")` : "";
    // On the attribute road a key whose rendered attribute changed is a re-target.
    const target = c.after && c.before && c.after.target !== c.before.target ? ` (attribute ${codeSpan(c.before.target ?? "(none)")} → ${codeSpan(c.after.target ?? "(none)")})` : "";
    return `| ${codeSpan(JSON.stringify(c.set!.key))}${name}${target} | ${actionLabel(c)} | ${c.members.before} → ${c.members.after} | ${c.members.add} | ${c.members.remove} | ${guardCell(c.guards.filter((g) => g.status !== "pass"))} |`;
  });
  if (rows.length > 0) parts.push(["| Key | Action | Members | + | − | Guards |", "|---|---|---|---:|---:|---|", ...rows].join("\n"));
  if (changed.length > MAX_INSTANCE_ROWS) parts.push(`…and ${changed.length - MAX_INSTANCE_ROWS} more changed instances; run \`coho plan --target ${group.address}\` for all of them.`);
  return `<details><summary><code>${markdownText(group.address)}</code>: ${escape(setSummary(group))}</summary>\n\n${parts.join("\n\n")}\n\n</details>`;
}

function guardCell(all: readonly GuardVerdict[]): string {
  // A set's row would repeat one guard per instance: each guard and verdict once.
  const guards = [...new Map(all.map((g) => [`${g.guard}:${g.status}`, g])).values()];
  if (guards.length === 0) return "";
  return guards.map((g) => `${g.status === "pass" ? "✅" : g.status === "overridden" ? "⚠️" : "⛔"} ${g.guard}`).join("<br>");
}

function detailsOf(cohort: CohortPlan): string | undefined {
  const parts: string[] = [];
  parts.push(`${escape(cohort.reason)}`);
  const rejected = rejectedText(cohort);
  if (rejected) parts.push(`Rejected rows: ${rejected}`);
  if (cohort.refused_last_apply) parts.push(`Braze refused ${cohort.refused_last_apply} member(s) last apply; they are sent again.`);
  if (cohort.after?.target !== cohort.before?.target) parts.push(`Attribute: ${codeSpan(cohort.before?.target ?? "(none)")} → ${codeSpan(cohort.after?.target ?? "(none)")}`);
  for (const g of cohort.guards.filter((g) => g.status !== "pass")) parts.push(`Guard ${g.guard}: ${escape(g.message)}`);
  if (cohort.samples) {
    if (cohort.samples.add.length > 0) parts.push(`Adds, e.g.: ${cohort.samples.add.map(codeSpan).join(", ")}`);
    if (cohort.samples.remove.length > 0) parts.push(`Removes, e.g.: ${cohort.samples.remove.map(codeSpan).join(", ")}`);
  }
  const dbtChange = dbtChangeText(cohort);
  if (dbtChange) parts.push(escape(dbtChange));
  // A fence longer than any backtick run inside cannot be closed by the SQL.
  if (cohort.sql_diff) parts.push(fenced(visibleLines(cohort.sql_diff)));
  if (cohort.dbt?.compiled_diff) parts.push(`dbt compiled SQL:\n\n${fenced(visibleLines(cohort.dbt.compiled_diff))}`);
  return `<details><summary><code>${markdownText(cohort.address)}</code>: ${actionLabel(cohort)}</summary>\n\n${parts.join("\n\n")}\n\n</details>`;
}

/** Adds details while they fit; then a notice of what was left out. */
function fit(head: string, details: readonly string[], footer: string): string {
  let body = head;
  let shown = 0;
  const reserve = footer.length + 200;
  for (const block of details) {
    if (body.length + block.length + 2 + reserve > MARKDOWN_LIMIT) break;
    body += `\n${block}\n`;
    shown++;
  }
  if (shown < details.length) {
    body += `\n> [!NOTE]\n> Details of ${details.length - shown} more cohort(s) were left out to stay under ${MARKDOWN_LIMIT.toLocaleString("en")} characters; run \`coho plan\` for all of them.\n`;
  }
  const text = `${body}\n${footer}\n`;
  return text.length <= MARKDOWN_LIMIT ? text : `${text.slice(0, MARKDOWN_LIMIT - 200)}\n\n> [!NOTE]\n> Truncated at ${MARKDOWN_LIMIT.toLocaleString("en")} characters.\n`;
}

const escape = markdownText;

function fenced(diff: string): string {
  const longest = Math.max(2, ...(diff.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}diff\n${diff}\n${fence}`;
}
