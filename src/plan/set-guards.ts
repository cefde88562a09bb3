import { parseAddress } from "../model/address.js";
import type { CohortPlan, GuardVerdict } from "../model/plan.js";
import type { CohortConfig } from "../model/project.js";

/**
 * max_deleted_instances, per set: a model that suddenly returns no keys (or far
 * fewer) would delete every instance's audience, so deletes beyond the limit
 * block the plan; --allow-removals overrides, visibly. Pure.
 */
export function setGuards(set: CohortConfig, cohorts: readonly CohortPlan[], allowRemovals: boolean): GuardVerdict[] {
  const limit = set.forEach!.maxDeletedInstances;
  const mine = cohorts.filter((c) => parseAddress(c.address)?.cohort === set.key && parseAddress(c.address)?.instance !== undefined);
  const recorded = mine.filter((c) => c.before !== null).length;
  const deleted = mine.filter((c) => c.actions.includes("delete")).length;
  // A percentage of a small set never rounds down to 0 (10% of 6 allows 1): 0 allowed is only ever written as 0.
  const share = (recorded * limit.value) / 100;
  const allowed = limit.kind === "count" ? limit.value : limit.value > 0 && recorded > 0 ? Math.max(1, Math.floor(share)) : 0;
  const shown = limit.kind === "count" ? `${limit.value}` : `${limit.value}% of ${recorded} = ${allowed}${Math.floor(share) < allowed ? " (at least one)" : ""}`;
  const exceeds = deleted > allowed;
  const message = exceeds
    ? `${deleted} of ${recorded} instances would be deleted, more than max_deleted_instances (${shown}); if the model is right, set guards.max_deleted_instances or apply with --allow-removals`
    : `${deleted} instance deletions within max_deleted_instances (${shown})`;
  if (!exceeds) return [{ guard: "max_deleted_instances", status: "pass", message }];
  return [{ guard: "max_deleted_instances", status: allowRemovals ? "overridden" : "blocked", message: allowRemovals ? `${message} (allowed by --allow-removals)` : message }];
}
