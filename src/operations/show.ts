import type { Plan } from "../model/plan.js";
import type { Project } from "../model/project.js";
import type { StateView } from "../model/state.js";
import { readPlanHeader } from "../plan/plan-file.js";
import { withBackend } from "./with-backend.js";

/** The plan saved in `path` (absolute), without its member deltas. */
export function showPlanFile(request: { readonly path: string }): Promise<Plan> {
  return readPlanHeader(request.path);
}

/** The recorded state: lockfile document, no identifiers. */
export function showState(request: { readonly project: Project }): Promise<StateView> {
  return withBackend(request.project, (backend) => backend.read());
}
