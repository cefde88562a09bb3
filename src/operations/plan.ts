import { summarizeJournal } from "../apply/journal-summary.js";
import type { Plan } from "../model/plan.js";
import type { Project } from "../model/project.js";
import { buildPlan, type PlannedChanges } from "../plan/build-plan.js";
import { writePlanFile } from "../plan/plan-file.js";
import { openSession, type Session } from "../plan/session.js";
import type { StateBackend } from "../state/backend.js";
import type { EventSink } from "./events.js";

export interface PlanRequest {
  readonly project: Project;
  /** Plan only these cohort addresses; the plan is then partial. */
  readonly targets?: readonly string[];
  /** Override the removal guards (allow_empty, max_removals). */
  readonly allowRemovals?: boolean;
  /** Sample member keys per cohort (PII); 0, the default, includes none. */
  readonly showMembers?: number;
  /** Diff inside PostgreSQL when model and state share a database (default true). */
  readonly pushDown?: boolean;
  /** Absolute path: save the plan with its exact member deltas for a later apply. */
  readonly out?: string;
  readonly memoryLimit?: string;
  readonly onEvent?: EventSink;
}

export interface PlanResult {
  readonly plan: Plan;
}

/** config + state → plan (and, with `out`, a saved plan file). Touches no Braze. */
export async function plan(request: PlanRequest): Promise<PlanResult> {
  const session = await openSession(request.project, request.memoryLimit ? { memoryLimit: request.memoryLimit } : {});
  try {
    const { plan, deltas } = await planInSession(session, request, await pendingApply(session.backend));
    if (request.out) await writePlanFile(request.out, plan, session.engine, deltas);
    request.onEvent?.({ type: "report", command: "plan", plan });
    return { plan };
  } finally {
    await session.close();
  }
}

/** Builds the plan in an open session, reporting each cohort as planned. Shared with apply. */
export async function planInSession(
  session: Session,
  request: Pick<PlanRequest, "targets" | "allowRemovals" | "showMembers" | "pushDown" | "onEvent">,
  pending: { cohorts: number; batches: number } | null = null,
): Promise<PlannedChanges> {
  const targets = request.targets ?? [];
  request.onEvent?.({ type: "plan_started", targets });
  const planned = await buildPlan({
    project: session.project,
    backend: session.backend,
    engine: session.engine,
    sources: session.sources,
    options: {
      targets,
      allowRemovals: request.allowRemovals === true,
      showMembers: request.showMembers ?? 0,
      ...(request.pushDown === undefined ? {} : { pushDown: request.pushDown }),
    },
    pendingApply: pending,
  });
  for (const cohort of planned.plan.cohorts) {
    request.onEvent?.({
      type: "cohort_planned",
      address: cohort.address,
      actions: cohort.actions,
      members: cohort.members,
      rejected: Object.values(cohort.rejected).reduce((a, b) => a + b, 0),
      blocked: cohort.guards.some((g) => g.status === "blocked"),
    });
  }
  return planned;
}

/** What an interrupted apply left in the journal, if anything. */
async function pendingApply(backend: StateBackend): Promise<{ cohorts: number; batches: number } | null> {
  const journal = backend.journal();
  try {
    const records = await journal.read();
    if (records.length === 0) return null;
    const work = summarizeJournal(records);
    return { cohorts: work.size, batches: [...work.values()].reduce((n, w) => n + w.unknown.length + (w.upsert && !w.upsertAcked ? 1 : 0), 0) };
  } finally {
    journal.close();
  }
}
