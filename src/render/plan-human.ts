import kleur from "kleur";
import type { Action, CohortPlan, GuardVerdict, Plan } from "../model/plan.js";
import { dbtRefChangeText, hasChanges } from "../model/plan.js";
import { visible, visibleLines } from "./escape.js";
import { groupBySet, setKeyNotes, setSummary, type SetGroup } from "./plan-sets.js";
import { ACTION_SYMBOL, actionLabel, blockedMessages, costText, warehouseLines, dbtChangeText, sharedText, isChange, overrideHint, rejectedText, summaryLine } from "./plan-text.js";
import { groupDigits } from "../util/group-digits.js";

const COLOR: Record<Action, (text: string) => string> = {
  create: kleur.green,
  adopt: kleur.green,
  update: kleur.yellow,
  delete: kleur.red,
  move: kleur.cyan,
  "no-op": kleur.dim,
};

/** The terminal view of a plan: legend, one block per changed cohort, totals. */
export function renderPlanHuman(plan: Plan): string {
  const out: string[] = [];
  if (plan.environment !== undefined) out.push(kleur.bold(`Environment: ${visible(plan.environment)}`), "");
  if (plan.targets.length > 0) {
    out.push(kleur.yellow().bold(`Warning: this plan is partial: only ${visible(plan.targets.join(", "))} (--target). Other cohorts were not planned.`), "");
  }
  const changed = plan.cohorts.filter(isChange);
  if (changed.length > 0) {
    const present = new Set(changed.flatMap((c) => c.actions));
    const legend = (["create", "adopt", "update", "delete", "move"] as const).filter((a) => present.has(a)).map((a) => COLOR[a](`${ACTION_SYMBOL[a]} ${a}`));
    out.push(`coho will perform these actions:  ${legend.join("   ")}`, "");
  }
  const { plain, sets } = groupBySet(plan);
  for (const cohort of plain.filter(isChange)) out.push(renderCohort(cohort), "");
  for (const group of sets) out.push(renderSet(group), "");
  // Rows a model returned but coho refused matter even when no membership changes.
  for (const cohort of plan.cohorts.filter((c) => !isChange(c))) {
    const rejected = rejectedText(cohort);
    if (rejected) out.push(kleur.yellow(`${visible(cohort.address)} (no changes): rejected rows: ${rejected}`));
  }
  for (const warning of plan.warnings) out.push(kleur.yellow(`Warning: ${visible(warning)}`));
  for (const error of plan.errors) out.push(kleur.red(`Error: ${visible(error)}`));
  const blocked = blockedMessages(plan);
  for (const message of blocked) out.push(kleur.red(`Blocked: ${visible(message)}`));
  if (plan.warnings.length + plan.errors.length + blocked.length > 0) out.push("");
  out.push(kleur.bold(summaryLine(plan)));
  if (plan.cost && hasChanges(plan)) out.push(`Cost: ${costText(plan.cost)}.`);
  for (const line of warehouseLines(plan)) out.push(line);
  if (!plan.applyable) out.push(kleur.red().bold("This plan cannot be applied."));
  const override = plan.applyable ? undefined : overrideHint(plan);
  if (override) out.push(override);
  return out.join("\n");
}

/** A set: one summary line, notes about its key values, its guard, then only the instances that change. */
function renderSet(group: SetGroup): string {
  const about = group.set ? kleur.dim(` (set: model ${group.set.model}, one cohort per ${group.set.key_column})`) : kleur.dim(" (set)");
  const lines = [`${kleur.bold(visible(group.address))}${about}`, `    ${setSummary(group)}`];
  for (const note of setKeyNotes(group.set)) lines.push(`    ${kleur.yellow(visible(note))}`);
  for (const guard of group.set?.guards ?? []) lines.push(`    guard: ${guard.guard} ${guardMark(guard.status)}: ${visible(guard.message)}`);
  for (const cohort of group.instances.filter(isChange)) lines.push("", indent(renderCohort(cohort), "  "));
  return lines.join("\n");
}

function indent(text: string, by: string): string {
  return text.split("\n").map((line) => by + line).join("\n");
}

/** Counts as the summary line prints them: 200,000, not 200000. */
function n(value: number): string {
  return groupDigits(value);
}

function guardMark(status: GuardVerdict["status"]): string {
  return status === "pass" ? kleur.green("ok") : status === "overridden" ? kleur.yellow("overridden") : kleur.red("BLOCKED");
}

function renderCohort(cohort: CohortPlan): string {
  const primary = cohort.actions[0] ?? "no-op";
  const color = COLOR[primary];
  const lines = [color(kleur.bold(`${ACTION_SYMBOL[primary]} ${visible(cohort.address)}`)) + kleur.dim(` (${actionLabel(cohort)})`)];
  // Every value comes from config, state or data: shown escaped, never acted on.
  const row = (label: string, value: string) => lines.push(`    ${label.padEnd(15)}${value}`);
  const v = visible;
  const { before, after, members } = cohort;
  if (cohort.moved_from) row("moved from:", v(cohort.moved_from));
  const name = before && after && before.name !== after.name ? `"${v(before.name)}" → "${v(after.name)}"` : `"${v((after ?? before)?.name ?? "")}"`;
  row("name:", name);
  row("cohort_id:", v((after ?? before)?.cohort_id ?? ""));
  const destination = before && after && before.destination !== after.destination ? `${v(before.destination)} → ${v(after.destination)}` : v((after ?? before)?.destination ?? "");
  row("destination:", destination);
  const target = before && after && before.target !== after.target ? `${before.target ?? "(none)"} → ${after.target ?? "(none)"}` : (after ?? before)?.target;
  if (target !== undefined) row("attribute:", visible(target));
  if (before && after && before.prevent_destroy !== after.prevent_destroy) row("prevent_destroy:", `${before.prevent_destroy} → ${after.prevent_destroy}`);
  row("members:", `${n(members.before)} → ${n(members.after)}  (${kleur.green(`+${n(members.add)}`)} / ${kleur.red(`−${n(members.remove)}`)})`);
  if (cohort.rows !== null && after) row("rows:", `${n(cohort.rows)} from model ${v(after.model)}`);
  if (cohort.members_by_identifier) row("identifiers:", Object.entries(cohort.members_by_identifier).map(([name, count]) => `${v(name)} ${n(count)}`).join(", "));
  const rejected = rejectedText(cohort);
  if (rejected) row("rejected:", kleur.yellow(rejected));
  if (cohort.refused_last_apply) row("refused:", kleur.yellow(`${n(cohort.refused_last_apply)} member(s) refused by Braze last apply, sent again`));
  if (cohort.unconfirmed_last_apply) row("unconfirmed:", kleur.yellow(`${n(cohort.unconfirmed_last_apply)} member(s) sent last apply, not confirmed in Braze (no profile yet): sent again`));
  if (cohort.refresh) row("refresh:", kleur.yellow(`re-sends ${n(cohort.refresh.members)} recorded member(s): ${costText(cohort.refresh.cost)}`) + ` — ${v(cohort.refresh.reason)}`);
  if (cohort.cost) row("cost:", costText(cohort.cost) + sharedText(cohort.cost));
  for (const guard of cohort.guards) {
    row("guard:", `${guard.guard} ${guardMark(guard.status)}: ${v(guard.message)}`);
  }
  if (cohort.samples) {
    if (cohort.samples.add.length > 0) row("adds e.g.:", cohort.samples.add.map((k) => v(k)).join(", "));
    if (cohort.samples.remove.length > 0) row("removes e.g.:", cohort.samples.remove.map((k) => v(k)).join(", "));
  }
  row("why:", kleur.dim(v(cohort.reason)));
  if (cohort.dbt) row("dbt model:", `${v(cohort.dbt.unique_id)} as ${v(cohort.dbt.relation)}`);
  const dbtChange = dbtChangeText(cohort);
  if (dbtChange) lines.push(`    ${kleur.yellow(v(dbtChange))}`);
  for (const change of cohort.dbt_refs ?? []) row("dbt ref:", kleur.yellow(v(dbtRefChangeText(change))));
  if (cohort.sql_diff) pushDiff(lines, "sql:", cohort.sql_diff);
  if (cohort.dbt?.compiled_diff) pushDiff(lines, "dbt compiled sql:", cohort.dbt.compiled_diff);
  return lines.join("\n");
}

function pushDiff(lines: string[], title: string, diff: string): void {
  lines.push(`    ${title}`);
  for (const line of visibleLines(diff).split("\n")) {
    const styled = line.startsWith("+") && !line.startsWith("+++") ? kleur.green(line) : line.startsWith("-") && !line.startsWith("---") ? kleur.red(line) : kleur.dim(line);
    lines.push(`      ${styled}`);
  }
}
