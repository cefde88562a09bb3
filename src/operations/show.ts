import type { Plan } from "../model/plan.js";
import type { Project } from "../model/project.js";
import type { StateView } from "../model/state.js";
import { readPlanHeader, verifyPlanFile } from "../plan/plan-file.js";
import { withBackend } from "./with-backend.js";

/**
 * The plan saved in `path` (absolute), without its member deltas. Its digest is
 * checked first, as apply checks it: a reviewer must never be shown a plan that
 * apply would then refuse (or one edited after coho wrote it).
 */
export async function showPlanFile(request: { readonly path: string }): Promise<Plan> {
  await verifyPlanFile(request.path);
  return readPlanHeader(request.path);
}

/** The recorded state: lockfile document, no identifiers. */
export function showState(request: { readonly project: Project }): Promise<StateView> {
  return withBackend(request.project, (backend) => backend.read());
}
