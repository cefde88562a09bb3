/**
 * coho's programmatic API. The CLI is built on the same pieces; everything here
 * returns data and never prints.
 */
import { loadProject, type LoadResult } from "./config/load-project.js";
import { DiagnosticsError } from "./model/errors.js";
import type { Plan } from "./model/plan.js";
import { buildPlan, type PlanOptions } from "./plan/build-plan.js";
import { openSession } from "./plan/session.js";

export type { Diagnostic, SourceLocation } from "./model/diagnostic.js";
export { CohoError, DiagnosticsError } from "./model/errors.js";
export type { Plan, CohortPlan } from "./model/plan.js";
export type { Project } from "./model/project.js";
export { BrazeClient } from "./destinations/braze-cohorts/cohorts-client.js";
export { AttributesClient } from "./destinations/braze-attributes/attributes-client.js";
export type { DestinationClient } from "./destinations/destination.js";
export { startEmulator, type RunningEmulator } from "./emulator/server.js";
export { memberDigest } from "./state/member-digest.js";

/** Checks the project in `dir` (coho.yaml and its includes), offline. */
export function validate(dir: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  return loadProject(dir, { env });
}

/**
 * Plans the project in `dir` against its recorded state, as `coho plan --json`
 * does. Throws DiagnosticsError for an invalid configuration.
 */
export async function plan(dir: string, options: Partial<PlanOptions> & { env?: NodeJS.ProcessEnv } = {}): Promise<Plan> {
  const loaded = loadProject(dir, { env: options.env ?? process.env });
  if (!loaded.project) throw new DiagnosticsError(loaded.diagnostics);
  const session = await openSession(loaded.project);
  try {
    const planned = await buildPlan({
      project: loaded.project,
      backend: session.backend,
      engine: session.engine,
      sources: session.sources,
      options: { targets: options.targets ?? [], allowRemovals: options.allowRemovals ?? false, showMembers: options.showMembers ?? 0, ...(options.pushDown === undefined ? {} : { pushDown: options.pushDown }) },
    });
    return planned.plan;
  } finally {
    await session.close();
  }
}
