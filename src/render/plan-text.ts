import type { Action, CohortPlan, CostEstimate, Plan } from "../model/plan.js";
import { hasChanges } from "../model/plan.js";
import { formatBytes } from "../model/bytes.js";
import { groupDigits } from "../util/group-digits.js";

/** Wording shared by the human and markdown views. */
export const ACTION_SYMBOL: Record<Action, string> = { create: "+", adopt: "+", update: "~", delete: "-", move: "→", "no-op": " " };

export function actionLabel(cohort: CohortPlan): string {
  return cohort.actions.join(", ");
}

export function summaryLine(plan: Plan): string {
  // After an error nothing was compared: never claim that Braze matches.
  if (plan.errors.length > 0) return `Planning failed: ${plan.errors.length} error${plan.errors.length === 1 ? "" : "s"}; nothing was compared.`;
  if (!hasChanges(plan)) return "No changes. Braze cohorts match the configuration.";
  const s = plan.summary;
  const n = (value: number) => groupDigits(value);
  const adoptN = s.adopt > 0 ? `${n(s.adopt)} to adopt, ` : "";
  return `Plan: ${n(s.create)} to create, ${adoptN}${n(s.update)} to update, ${n(s.delete)} to delete, ${n(s.move)} to move. Members: +${n(s.members_add)} / −${n(s.members_remove)}.`;
}

/** "3 requests · 150 attribute updates · 0.1 s at the rate limit". */
export function costText(cost: CostEstimate): string {
  const plural = (n: number, word: string) => `${groupDigits(n)} ${word}${n === 1 ? "" : "s"}`;
  const updates = cost.attribute_updates > 0 ? ` · ${plural(cost.attribute_updates, "attribute update")}` : "";
  const readBacks = cost.read_back_requests ? ` · ${plural(cost.read_back_requests, "read-back request")} (/users/export/ids: confirms additions)` : "";
  // A cohort in a request group whose share rounds to no whole request still rides along in the shared ones.
  const requests = cost.requests === 0 && cost.attribute_updates > 0 && (cost.shared_with?.length ?? 0) > 0 ? "under 1 request (its users ride in the shared ones)" : plural(cost.requests, "request");
  return `${requests}${updates}${readBacks} · ${durationText(cost.seconds)} at the rate limit`;
}

const WAREHOUSE_NAMES: Readonly<Record<string, string>> = { bigquery: "BigQuery" };

/** "BigQuery (source wh): 1.2 MiB processed (dry run of 2 queries)." per warehouse source that ran queries. */
export function warehouseLines(plan: Plan): string[] {
  return (plan.warehouse ?? []).map((w) => {
    const queries = `${w.queries} ${w.queries === 1 ? "query" : "queries"}`;
    return `${WAREHOUSE_NAMES[w.type] ?? w.type} (source ${w.source}): ${formatBytes(w.bytes_processed)} processed (dry run of ${queries}).`;
  });
}

/** " (its share: requests shared with cohorts.b, one object per user)" for a cohort in a request group. */
export function sharedText(cost: CostEstimate): string {
  const others = cost.shared_with ?? [];
  if (others.length === 0) return "";
  // A destination's cohorts all share (a set may have hundreds): name a few, count the rest.
  const named = others.length > 5 ? `${others.slice(0, 4).join(", ")} and ${others.length - 4} more cohorts` : others.join(", ");
  return ` (its share: requests shared with ${named}, one object per user)`;
}

function durationText(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toPrecision(2))} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function rejectedText(cohort: CohortPlan): string | undefined {
  const parts = Object.entries(cohort.rejected).filter(([, n]) => n > 0).map(([reason, n]) => `${reason}: ${n}`);
  if (parts.length === 0) return undefined;
  const total = Object.values(cohort.rejected).reduce((a, b) => a + b, 0);
  return `${total} (${parts.join(", ")})`;
}

export function blockedMessages(plan: Plan): string[] {
  const sets = (plan.sets ?? []).flatMap((s) => s.guards.filter((g) => g.status === "blocked").map((g) => `${s.address}: ${g.message}`));
  return [...sets, ...plan.cohorts.flatMap((c) => c.guards.filter((g) => g.status === "blocked").map((g) => `${c.address}: ${g.message}`))];
}

export function isChange(cohort: CohortPlan): boolean {
  return !(cohort.actions.length === 1 && cohort.actions[0] === "no-op");
}

/** "dbt model changed: sha256:… → sha256:…" (or the node it now reads), when the dbt model changed. */
export function dbtChangeText(cohort: CohortPlan): string | undefined {
  const dbt = cohort.dbt;
  if (!dbt?.previous) return undefined;
  if (dbt.previous.unique_id !== dbt.unique_id) return `dbt model changed: ${dbt.previous.unique_id} → ${dbt.unique_id}`;
  return `dbt model changed: checksum ${dbt.previous.checksum} → ${dbt.checksum}`;
}

/** Removals this large deserve a reviewer's eye even when no guard is configured: at least this many members… */
const LARGE_REMOVAL_COUNT = 1_000;
/** …or at least half of a cohort that had this many. */
const LARGE_REMOVAL_MIN_BEFORE = 10;

/** Cohorts (and set instances) that remove many members with no max_removals guard watching them. */
export function unguardedRemovals(plan: Plan): CohortPlan[] {
  return plan.cohorts.filter((c) => {
    const { before, remove } = c.members;
    const large = remove >= LARGE_REMOVAL_COUNT || (before >= LARGE_REMOVAL_MIN_BEFORE && remove * 2 >= before);
    return large && !c.guards.some((g) => g.guard === "max_removals");
  });
}

/** Guards --allow-removals overrides; prevent_destroy and max_array_values it never does. */
const REMOVAL_GUARDS: readonly string[] = ["allow_empty", "max_removals", "max_deleted_instances"];

/** The last line of a blocked plan when --allow-removals would unblock a guard: the flag that overrides it. */
export function overrideHint(plan: Plan): string | undefined {
  const guards = [...(plan.sets ?? []).flatMap((s) => s.guards), ...plan.cohorts.flatMap((c) => c.guards)].filter((g) => g.status === "blocked" && REMOVAL_GUARDS.includes(g.guard));
  if (guards.length === 0) return undefined;
  const names = [...new Set(guards.map((g) => g.guard))].join(", ");
  return `If these removals are intended, plan again with --allow-removals (it overrides ${names}).`;
}
