import type { Plan } from "../model/plan.js";

/** `--json`: the plan itself (format coho-plan 1.1; schema/coho-plan.schema.json). */
export function renderPlanJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2);
}
