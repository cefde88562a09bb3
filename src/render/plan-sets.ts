import type { CohortPlan, Plan, SetPlan } from "../model/plan.js";
import { isChange } from "./plan-text.js";
import { groupDigits } from "../util/group-digits.js";

/** A cohort set as the views show it: its summary (when its model ran) and its instances. */
export interface SetGroup {
  readonly address: string;
  /** undefined when the set is only in state (removed from the configuration). */
  readonly set: SetPlan | undefined;
  readonly instances: readonly CohortPlan[];
}

/** Splits a plan's cohorts into ordinary ones and instances grouped by set, in address order. */
export function groupBySet(plan: Plan): { plain: CohortPlan[]; sets: SetGroup[] } {
  const plain: CohortPlan[] = [];
  const bySet = new Map<string, CohortPlan[]>();
  for (const set of plan.sets ?? []) bySet.set(set.address, []);
  for (const cohort of plan.cohorts) {
    if (!cohort.set) plain.push(cohort);
    else (bySet.get(cohort.set.address) ?? bySet.set(cohort.set.address, []).get(cohort.set.address)!).push(cohort);
  }
  const sets = [...bySet].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([address, instances]) => ({
    address,
    set: plan.sets?.find((s) => s.address === address),
    instances,
  }));
  return { plain, sets };
}

/**
 * "500 instances: 3 to create, 1 to update, 1 to delete, 495 unchanged; members +12 / −4".
 * Every instance of the plan is counted once, by its first action, so the parts add up to the total.
 */
export function setSummary(group: SetGroup): string {
  const n = (value: number) => groupDigits(value);
  const primary = (c: CohortPlan) => (c.actions[0] === "adopt" ? "create" : c.actions[0] ?? "no-op");
  const parts = (["create", "update", "delete", "move"] as const)
    .map((action) => [action, group.instances.filter((c) => isChange(c) && primary(c) === action).length] as const)
    .filter(([, k]) => k > 0)
    .map(([action, k]) => `${n(k)} to ${action}`);
  const unchanged = group.instances.filter((c) => !isChange(c)).length;
  const add = group.instances.reduce((sum, c) => sum + c.members.add, 0);
  const remove = group.instances.reduce((sum, c) => sum + c.members.remove, 0);
  const size = group.instances.length;
  return `${n(size)} instance${size === 1 ? "" : "s"}: ${[...parts, `${n(unchanged)} unchanged`].join(", ")}; members +${n(add)} / −${n(remove)}`;
}

/** What the set's one model run refused or ignored, as short phrases (empty when nothing). */
export function setKeyNotes(set: SetPlan | undefined): string[] {
  if (!set) return ["no longer in the configuration"];
  const notes: string[] = [];
  const rejected = Object.entries(set.rejected_keys).filter(([, c]) => c.rows > 0);
  if (rejected.length > 0) notes.push(`rejected key values: ${rejected.map(([reason, c]) => `${reason}: ${c.values} value(s), ${c.rows} row(s)`).join("; ")}`);
  if (set.ignored_keys.values > 0) {
    const sample = set.ignored_keys.sample.map((k) => JSON.stringify(k)).join(", ");
    notes.push(`ignored (not in keys:): ${set.ignored_keys.values} value(s), ${set.ignored_keys.rows} row(s), e.g. ${sample}`);
  }
  if (set.missing_keys.length > 0) notes.push(`listed in keys: but not returned by the model: ${set.missing_keys.map((k) => JSON.stringify(k)).join(", ")}`);
  return notes;
}
