import { estimateCost } from "../destinations/roads.js";
import { isRetarget, needsPrepare, type CohortPlan, type CostEstimate } from "../model/plan.js";
import type { DestinationConfig } from "../model/project.js";

const ZERO: CostEstimate = { requests: 0, attribute_updates: 0, seconds: 0 };

/**
 * What applying one cohort costs, asked of each destination's road with the same
 * streams apply sends: on a re-target, removals to the old side and additions to
 * the new one; otherwise one stream of additions and removals. No-ops cost nothing.
 */
export function cohortCost(
  destinations: ReadonlyMap<string, DestinationConfig>,
  cohort: Pick<CohortPlan, "actions" | "changed_attributes" | "before" | "after" | "members">,
): CostEstimate {
  if (cohort.actions.length === 1 && cohort.actions[0] === "no-op") return ZERO;
  const at = (destination: string, prepare: boolean, add: number, remove: number): CostEstimate => {
    const config = destinations.get(destination);
    return config ? estimateCost(config, { prepare, sends: add + remove > 0 ? [{ add, remove }] : [] }) : ZERO;
  };
  const prepare = needsPrepare(cohort);
  const { add, remove } = cohort.members;
  if (cohort.after === null) return at(cohort.before!.destination, false, 0, remove);
  if (!isRetarget(cohort.changed_attributes) || cohort.before === null) return at(cohort.after.destination, prepare, add, remove);
  const old = at(cohort.before.destination, false, 0, remove);
  const next = at(cohort.after.destination, prepare, add, 0);
  const readBacks = (old.read_back_requests ?? 0) + (next.read_back_requests ?? 0);
  return {
    requests: old.requests + next.requests,
    attribute_updates: old.attribute_updates + next.attribute_updates,
    seconds: Math.round((old.seconds + next.seconds) * 1000) / 1000,
    ...(readBacks > 0 ? { read_back_requests: readBacks } : {}),
  };
}
