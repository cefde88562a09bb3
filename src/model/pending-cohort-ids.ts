import type { Plan } from "./plan.js";

/**
 * What a plan shows for the cohort_id of a cohort it would create: the id is
 * chosen when apply runs (a plain `coho plan` followed by `coho apply` plans
 * twice), so showing one here would show an id that never exists — as Terraform
 * says "(known after apply)". A saved plan (`plan --out`) keeps its real ids:
 * apply uses exactly the ids it showed. JSON renders the marker as null.
 */
export const KNOWN_AFTER_APPLY = "(known after apply)";

export function hidePendingCohortIds(plan: Plan): Plan {
  let changed = false;
  const cohorts = plan.cohorts.map((cohort) => {
    if (!cohort.actions.includes("create") || !cohort.after) return cohort;
    changed = true;
    return { ...cohort, after: { ...cohort.after, cohort_id: KNOWN_AFTER_APPLY } };
  });
  return changed ? { ...plan, cohorts } : plan;
}
