import type { CohortPlan, GuardVerdict, Plan } from "../model/plan.js";
import { groupBySet, setKeyNotes, setSummary, type SetGroup } from "./plan-sets.js";
import { dbtRefChangeText, hasChanges } from "../model/plan.js";
import { codeSpan, markdownText, visibleLines } from "./escape.js";
import { capped, cellCode, count, diffFence, tableHeader, tableRow } from "./markdown-blocks.js";
import { actionLabel, blockedMessages, costText, warehouseLines, dbtChangeText, isChange, overrideHint, rejectedText, summaryLine, unguardedRemovals } from "./plan-text.js";
import { MARKDOWN_LIMIT } from "./markdown-limit.js";

export { MARKDOWN_LIMIT };

/** An invisible marker, so a workflow can find and update its own comment. */
export const COMMENT_MARKER = "<!-- coho-plan -->";

/** Messages of one kind shown before "…and N more": a plan with thousands of blocked cohorts still leaves room for its table. */
const MAX_MESSAGES = 20;
/** One message's length in the comment (a hostile name could be kilobytes). */
const MAX_MESSAGE_CHARS = 1_000;
/** Sample members shown per direction; --show-members 100000 must not push the SQL diff out. */
const MAX_SAMPLES = 50;
/** Room kept for the notice of what was left out. */
const NOTICE_RESERVE = 600;

/**
 * A pull-request comment: a headline with totals, a table, details folded. No
 * identifiers unless the plan carries samples (--show-members). Over the size
 * limit, whole table rows and then whole details are left out and counted; the
 * headline, the warnings, the cost and the footer always stay.
 */
export function renderPlanMarkdown(plan: Plan, options: { readonly charts?: readonly string[]; readonly limit?: number } = {}): string {
  const { plain, sets } = groupBySet(plan);
  const changed = plain.filter(isChange);
  const changedSets = sets.filter((g) => g.instances.some(isChange) || g.set?.guards.some((guard) => guard.status !== "pass"));
  // Attribute updates are a /users/track cost: the column appears only when a cohort of the plan is on that road.
  const attributes = [...changed, ...changedSets.flatMap((g) => g.instances)].some((c) => (c.after ?? c.before)?.target !== undefined || (c.cost?.attribute_updates ?? 0) > 0);
  const columns = [
    { title: "Cohort", align: "l" as const },
    { title: "Action", align: "l" as const },
    { title: "Members", align: "l" as const },
    { title: "+", align: "r" as const },
    { title: "−", align: "r" as const },
    { title: "Requests", align: "r" as const },
    ...(attributes ? [{ title: "Attribute updates", align: "r" as const }] : []),
    { title: "Guards", align: "l" as const },
  ];
  const rows = [...changed.map((c) => cohortRow(c, attributes)), ...changedSets.map((g) => setRow(g, attributes))];
  const after: string[] = [];
  if (rows.length > 0 && plan.cost) after.push(`**Cost:** ${costText(plan.cost)}.`);
  after.push(...warehouseLines(plan));
  const shared = changed.filter((c) => (c.cost?.shared_with?.length ?? 0) > 0);
  if (rows.length > 0 && shared.length > 0) after.push(`Cohorts ${shared.slice(0, 10).map((c) => cellCode(c.address)).join(", ")}${shared.length > 10 ? ` and ${count(shared.length - 10)} more` : ""} share requests (one object per user): each row shows its share.`);
  // Size over recorded applies, with this plan's projection (bounded in count, so the budget holds).
  if (options.charts && options.charts.length > 0) after.push("#### Size over time", ...options.charts);
  const details = [...changed.map((c) => (budget: number) => detailsOf(c, budget)), ...changedSets.map((g) => (budget: number) => setDetails(g, budget))];
  const footer = `<sub>coho ${plan.coho_version} · state serial ${count(plan.state.serial)} · ${plan.created_at}</sub>`;
  return fit({ head: headOf(plan), header: rows.length > 0 ? tableHeader(columns) : "", rows, after, details, footer }, options.limit ?? MARKDOWN_LIMIT);
}

/** The headline, the partial-plan warning, why it cannot be applied, notes, and large removals no guard watches. */
function headOf(plan: Plan): string {
  const head: string[] = [COMMENT_MARKER, `### coho plan${plan.environment === undefined ? "" : ` (${codeSpan(plan.environment)})`}: ${hasChanges(plan) ? summaryLine(plan).replace(/^Plan: /, "") : "no changes"}`, ""];
  if (plan.targets.length > 0) head.push(`> [!WARNING]\n> Partial plan (${codeSpan(`--target ${plan.targets.join(" ")}`)}): other cohorts were not planned.`, "");
  if (!plan.applyable) {
    head.push("> [!CAUTION]\n> This plan cannot be applied:");
    head.push(...capped([...plan.errors, ...blockedMessages(plan)], MAX_MESSAGES, (m) => `> - ${message(m)}`, (n) => `> - …and ${count(n)} more`));
    const override = overrideHint(plan);
    if (override) head.push(">", `> ${override.replace("--allow-removals", "`--allow-removals`")}`);
    head.push("");
  }
  head.push(...capped(plan.warnings, MAX_MESSAGES, (w) => `> [!NOTE]\n> ${message(w)}\n`, (n) => `> [!NOTE]\n> …and ${count(n)} more notes; run \`coho plan\` for all of them.\n`));
  const quiet = plan.cohorts.filter((c) => !isChange(c) && rejectedText(c) !== undefined);
  if (quiet.length > 0) {
    head.push("> [!NOTE]\n> Rejected rows in cohorts that do not change:");
    head.push(...capped(quiet, MAX_MESSAGES, (c) => `> - ${cellCode(c.address)}: ${rejectedText(c)!}`, (n) => `> - …and ${count(n)} more`));
    head.push("");
  }
  const unguarded = unguardedRemovals(plan);
  if (unguarded.length > 0) {
    head.push("> [!WARNING]\n> Large removals that no `max_removals` guard checks:");
    head.push(...capped(unguarded, MAX_MESSAGES, (c) => `> - ${cellCode(c.address)}: −${count(c.members.remove)} of ${count(c.members.before)} members`, (n) => `> - …and ${count(n)} more`));
    head.push("");
  }
  return head.join("\n");
}

function message(text: string): string {
  const escaped = markdownText(text);
  return escaped.length <= MAX_MESSAGE_CHARS ? escaped : `${escaped.slice(0, MAX_MESSAGE_CHARS).replace(/\\$/, "")}…`;
}

function cohortRow(c: CohortPlan, attributes: boolean): string {
  const m = c.members;
  return tableRow([cellCode(c.address), actionLabel(c), `${count(m.before)} → ${count(m.after)}`, count(m.add), count(m.remove), c.cost ? requestsCell(c.cost) : "", ...(attributes ? [c.cost ? count(c.cost.attribute_updates) : ""] : []), guardCell(c.guards)]);
}

/** One table row for a whole set: its instances' totals. */
function setRow(group: SetGroup, attributes: boolean): string {
  const sum = (f: (c: CohortPlan) => number) => count(group.instances.reduce((n, c) => n + f(c), 0));
  const instanceGuards = group.instances.flatMap((c) => c.guards.filter((g) => g.status !== "pass"));
  return tableRow([
    `${cellCode(group.address)} (set)`,
    markdownText(setSummary(group).split(";")[0]!),
    `${sum((c) => c.members.before)} → ${sum((c) => c.members.after)}`,
    sum((c) => c.members.add),
    sum((c) => c.members.remove),
    sum((c) => c.cost?.requests ?? 0),
    ...(attributes ? [sum((c) => c.cost?.attribute_updates ?? 0)] : []),
    guardCell([...(group.set?.guards ?? []), ...instanceGuards]),
  ]);
}

/** Instance rows shown per set: enough for hundreds, bounded so one set cannot crowd out the rest. */
const MAX_INSTANCE_ROWS = 500;

/** A set's folded details: key notes, the model's SQL diff once, then a row per changed instance while they fit in `budget`. */
function setDetails(group: SetGroup, budget: number): string | undefined {
  const changed = group.instances.filter(isChange);
  const parts = setKeyNotes(group.set).map(markdownText);
  for (const g of group.set?.guards.filter((g) => g.status !== "pass") ?? []) parts.push(`Guard ${g.guard}: ${message(g.message)}`);
  const diff = group.instances.find((c) => c.sql_diff)?.sql_diff;
  if (diff) parts.push(diffFence(visibleLines(diff)));
  const open = `<details><summary><code>${markdownText(group.address)}</code>: ${markdownText(setSummary(group))}</summary>\n\n`;
  const close = "\n\n</details>";
  const header = "| Key | Action | Members | + | − | Guards |\n|---|---|---|---:|---:|---|";
  const more = (n: number) => `…and ${count(n)} more changed instances; run \`coho plan --target ${group.address}\` for all of them.`;
  let used = open.length + close.length + parts.join("\n\n").length + header.length + more(changed.length).length + 8;
  if (used > budget) return undefined;
  const rows: string[] = [];
  for (const c of changed.slice(0, MAX_INSTANCE_ROWS)) {
    const row = instanceRow(c);
    if (used + row.length + 1 > budget) break;
    rows.push(row);
    used += row.length + 1;
  }
  if (rows.length > 0) parts.push([header, ...rows].join("\n"));
  if (changed.length > rows.length) parts.push(more(changed.length - rows.length));
  return `${open}${parts.join("\n\n")}${close}`;
}

function instanceRow(c: CohortPlan): string {
  const name = c.after && c.before && c.after.name !== c.before.name ? ` (rename to "${markdownText(c.after.name)}")` : "";
  // On the attribute road a key whose rendered attribute changed is a re-target.
  const target = c.after && c.before && c.after.target !== c.before.target ? ` (attribute ${cellCode(c.before.target ?? "(none)")} → ${cellCode(c.after.target ?? "(none)")})` : "";
  const m = c.members;
  return tableRow([`${cellCode(JSON.stringify(c.set!.key))}${name}${target}`, actionLabel(c), `${count(m.before)} → ${count(m.after)}`, count(m.add), count(m.remove), guardCell(c.guards.filter((g) => g.status !== "pass"))]);
}

function guardCell(all: readonly GuardVerdict[]): string {
  // A set's row would repeat one guard per instance: each guard and verdict once.
  const guards = [...new Map(all.map((g) => [`${g.guard}:${g.status}`, g])).values()];
  if (guards.length === 0) return "";
  return guards.map((g) => `${g.status === "pass" ? "✅" : g.status === "overridden" ? "⚠️" : "⛔"} ${g.guard}`).join("<br>");
}

/** A cohort's folded details; the SQL diff comes before sample members, and samples are the first thing dropped to fit. */
function detailsOf(cohort: CohortPlan, budget: number): string | undefined {
  const parts: string[] = [markdownText(cohort.reason)];
  const rejected = rejectedText(cohort);
  if (rejected) parts.push(`Rejected rows: ${rejected}`);
  if (cohort.refused_last_apply) parts.push(`Braze refused ${count(cohort.refused_last_apply)} member(s) last apply; they are sent again.`);
  if (cohort.refresh) parts.push(`Refresh: re-sends ${count(cohort.refresh.members)} recorded member(s) (${markdownText(costText(cohort.refresh.cost))}) — ${message(cohort.refresh.reason)}`);
  if (cohort.unconfirmed_last_apply) parts.push(`${count(cohort.unconfirmed_last_apply)} member(s) sent last apply are not confirmed in Braze (no profile yet); they are sent again.`);
  if (cohort.after?.target !== cohort.before?.target) parts.push(`Attribute: ${cellCode(cohort.before?.target ?? "(none)")} → ${cellCode(cohort.after?.target ?? "(none)")}`);
  for (const g of cohort.guards.filter((g) => g.status !== "pass")) parts.push(`Guard ${g.guard}: ${message(g.message)}`);
  const dbtChange = dbtChangeText(cohort);
  if (dbtChange) parts.push(markdownText(dbtChange));
  for (const change of cohort.dbt_refs ?? []) parts.push(`dbt: ${markdownText(dbtRefChangeText(change))}`);
  if (cohort.sql_diff) parts.push(diffFence(visibleLines(cohort.sql_diff)));
  if (cohort.dbt?.compiled_diff) parts.push(`dbt compiled SQL:\n\n${diffFence(visibleLines(cohort.dbt.compiled_diff))}`);
  const block = (all: string[]) => `<details><summary><code>${markdownText(cohort.address)}</code>: ${actionLabel(cohort)}</summary>\n\n${all.join("\n\n")}\n\n</details>`;
  const samples: string[] = [];
  if (cohort.samples) {
    const list = (keys: readonly string[]) => `${keys.slice(0, MAX_SAMPLES).map(cellCode).join(", ")}${keys.length > MAX_SAMPLES ? ` and ${count(keys.length - MAX_SAMPLES)} more (\`coho plan --show-members\` prints them)` : ""}`;
    if (cohort.samples.add.length > 0) samples.push(`Adds, e.g.: ${list(cohort.samples.add)}`);
    if (cohort.samples.remove.length > 0) samples.push(`Removes, e.g.: ${list(cohort.samples.remove)}`);
  }
  const full = block([...parts, ...samples]);
  if (full.length <= budget) return full;
  const withoutSamples = block(samples.length > 0 ? [...parts, "Sample members left out to fit the comment."] : parts);
  return withoutSamples.length <= budget ? withoutSamples : undefined;
}

interface Sections {
  readonly head: string;
  /** The table's header lines, or "" when no cohort changes. */
  readonly header: string;
  readonly rows: readonly string[];
  /** Lines after the table (cost, shared requests): always kept. */
  readonly after: readonly string[];
  readonly details: readonly ((budget: number) => string | undefined)[];
  readonly footer: string;
}

/**
 * Puts the comment together under `limit` (MARKDOWN_LIMIT, or a share of it when
 * several environments' plans go into one comment): head, footer and the lines
 * after the table always; table rows while they fit, then details. Rows and
 * details are whole blocks, so the text is valid markdown wherever it stops, and
 * a notice counts what was left out.
 */
function fit(s: Sections, limit: number): string {
  let used = s.head.length + s.header.length + s.after.join("\n\n").length + s.footer.length + NOTICE_RESERVE;
  const rows: string[] = [];
  for (const row of s.rows) {
    if (used + row.length + 1 > limit) break;
    rows.push(row);
    used += row.length + 1;
  }
  const details: string[] = [];
  let detailsLeft = 0;
  for (const build of s.details) {
    const block = build(limit - used - 2);
    if (block === undefined || used + block.length + 2 > limit) {
      detailsLeft++;
      continue;
    }
    details.push(block);
    used += block.length + 2;
  }
  const out = [s.head];
  if (s.header !== "") out.push(`${s.header}\n${rows.join("\n")}`, "");
  for (const line of s.after) out.push(line, "");
  for (const block of details) out.push(block, "");
  if (detailsLeft > 0 || rows.length < s.rows.length) {
    const what = [rows.length < s.rows.length ? `${count(s.rows.length - rows.length)} table row(s)` : "", detailsLeft > 0 ? `the details of ${count(detailsLeft)} cohort(s)` : ""].filter(Boolean).join(" and ");
    out.push(`> [!NOTE]\n> ${what.charAt(0).toUpperCase()}${what.slice(1)} were left out to stay under ${count(limit)} characters; run \`coho plan\` for all of them.`, "");
  }
  out.push(s.footer);
  return `${out.join("\n")}\n`;
}

/** A cohort's requests; a shared cohort whose share rounds to none reads "<1 (shared)", not a bare 0. */
function requestsCell(cost: NonNullable<CohortPlan["cost"]>): string {
  return cost.requests === 0 && (cost.shared_with?.length ?? 0) > 0 && cost.attribute_updates > 0 ? "<1 (shared)" : count(cost.requests);
}
