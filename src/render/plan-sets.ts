import type { CohortPlan, Plan, SetPlan } from "../model/plan.js";
import { isChange } from "./plan-text.js";

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

/** "500 instances: 3 to create, 1 to update, 1 to delete, 495 unchanged; members +12 / −4". */
export function setSummary(group: SetGroup): string {
  const count = (action: string) => group.instances.filter((c) => c.actions.includes(action as never)).length;
  const unchanged = group.instances.filter((c) => !isChange(c)).length;
  const parts = [["create", count("create") + count("adopt")], ["update", count("update")], ["delete", count("delete")], ["move", count("move")]]
    .filter(([, n]) => (n as number) > 0)
    .map(([action, n]) => `${n} to ${action}`);
  const add = group.instances.reduce((n, c) => n + c.members.add, 0);
  const remove = group.instances.reduce((n, c) => n + c.members.remove, 0);
  const size = group.set ? group.set.instances : group.instances.filter((c) => c.after !== null).length;
  return `${size} instance${size === 1 ? "" : "s"}: ${[...parts, `${unchanged} unchanged`].join(", ")}; members +${add} / −${remove}`;
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
