import type { Plan } from "../model/plan.js";
import { KNOWN_AFTER_APPLY } from "../model/pending-cohort-ids.js";

/** `--json`: the plan itself (format coho-plan 1.1; schema/coho-plan.schema.json). */
export function renderPlanJson(plan: Plan): string {
  // A cohort_id chosen only at apply time is null in JSON, never a made-up id.
  return JSON.stringify(plan, (key, value: unknown) => (key === "cohort_id" && value === KNOWN_AFTER_APPLY ? null : value), 2);
}
