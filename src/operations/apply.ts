import { ApplyHistory } from "../apply/apply-history.js";
import { DestinationClients } from "../destinations/clients.js";
import { executePlan, type ExecutablePlan } from "../apply/execute-plan.js";
import { foldIntoState, recoverInterrupted } from "../apply/recover.js";
import { buildApplyReport, type ApplyReport } from "../apply/report.js";
import { loadSavedPlan } from "../apply/saved-plan.js";
import { hasChanges, type Plan } from "../model/plan.js";
import type { Project } from "../model/project.js";
import { openSession, type Session } from "../plan/session.js";
import { describeLock, newLockInfo } from "../state/lock-holder.js";
import type { ApplyOutcome, EventSink, LockRequest, OperationEvent, Tuning } from "./events.js";
import { planInSession } from "./plan.js";

/** Decides whether a fresh plan goes ahead; a saved plan was approved when it was reviewed. */
export type Approval = (plan: Plan) => boolean | Promise<boolean>;

export interface ApplyRequest extends LockRequest {
  readonly project: Project;
  /** Absolute path of a plan saved by plan({ out }): applied exactly, without approval. */
  readonly planFile?: string;
  /** For a fresh plan: plan only these cohort addresses. */
  readonly targets?: readonly string[];
  /** For a fresh plan: override the removal guards. */
  readonly allowRemovals?: boolean;
  /** For a fresh plan: send again the additions of every recorded member (see PlanRequest.refresh). */
  readonly refresh?: boolean;
  /** For a fresh plan: read back a sample and re-send drifted members (see PlanRequest.refreshFromBraze). */
  readonly refreshFromBraze?: { readonly sample: number };
  /** Asked once a fresh plan with changes is ready; absent means approved (an --auto-approve). */
  readonly approve?: Approval;
  /** Aborting stops new requests; those in flight finish and state keeps what Braze acknowledged. */
  readonly signal?: AbortSignal;
  readonly tuning?: Tuning;
  readonly onEvent?: EventSink;
}

export interface ApplyResult {
  readonly outcome: ApplyOutcome;
  /** The plan carried out (fresh or saved). */
  readonly plan: Plan;
  /** Null when nothing ran: the plan was blocked or not approved. */
  readonly report: ApplyReport | null;
}

/**
 * The whole apply: take the state lock, finish an interrupted apply, plan (or load
 * a saved plan), ask for approval, execute, fold the journal into state, report.
 * State advances only by folding acknowledged batches.
 */
export async function apply(request: ApplyRequest): Promise<ApplyResult> {
  const started = new Date();
  const emit = (event: OperationEvent) => request.onEvent?.(event);
  const session = await openSession(request.project, request.tuning?.memoryLimit ? { memoryLimit: request.tuning.memoryLimit } : {});
  const clients = new DestinationClients(request.project, {
    ...(request.tuning?.concurrency ? { concurrency: request.tuning.concurrency } : {}),
    ...(request.tuning?.maxInFlight ? { maxConcurrency: request.tuning.maxInFlight } : {}),
    ...(request.tuning?.retry ? { retry: request.tuning.retry } : {}),
    // A writer that lost its lock sends nothing more: checked before every attempt, retries included.
    fence: () => session.backend.checkLock(),
    onEvent: (destination, event) => {
      if (event.type !== "retry") return;
      emit({ type: "retry", destination, cohort_id: event.cohortId, attempt: event.attempt, reason: event.reason, delay_ms: event.delayMs, ...(event.status === undefined ? {} : { status: event.status }) });
    },
  });
  const onAbort = () => emit({ type: "stopping", reason: abortReason(request.signal) });
  if (request.signal?.aborted) onAbort();
  else request.signal?.addEventListener("abort", onAbort, { once: true });
  const journal = session.backend.journal();
  let release: (() => void) | undefined;
  let history: ApplyHistory | undefined;
  try {
    release = await session.backend.lock(newLockInfo("apply", request.env ?? {}), request.lockTimeoutMs ?? 0, {
      staleTakenOver: (previous) => emit({ type: "lock_taken_over", previous: describeLock(previous) }),
      waiting: (holder) => emit({ type: "lock_waiting", holder: describeLock(holder) }),
    });
    // Under the lock, so history records land in the order applies ran.
    history = new ApplyHistory(session.backend, started, request.env ?? {}, await session.backend.read(), request.project.environment?.name);
    const base = { journal, backend: session.backend, engine: session.engine, clients, now: () => new Date(), onEvent: emit };
    const resumed = await recoverInterrupted(base);
    const executable = await planOrLoad(session, request);
    const { plan } = executable;
    history.plan = plan;
    emit({ type: "planned", plan });
    const recorded = history;
    const environment = request.project.environment?.name;
    const finish = async (outcome: ApplyOutcome, bare: ApplyReport | null): Promise<ApplyResult> => {
      const report = bare && environment !== undefined ? { ...bare, environment } : bare;
      await recorded.record(outcome, report);
      emit({ type: "report", command: "apply", outcome, report });
      return { outcome, plan, report };
    };
    // Every finish is awaited here, inside the try: a bare `return finish(…)` would run
    // the finally below (which closes the state backend) while the history record is
    // still being written, and that write then fails on a closed pool.
    if (!plan.applyable) return await finish("blocked", null);
    if (!hasChanges(plan)) return await finish("no_changes", buildApplyReport(started, resumed, [], executable.state, false));
    if (!request.planFile && request.approve && !(await request.approve(plan))) return await finish("cancelled", null);
    await clients.assertReachable(plan.cohorts.filter((c) => !(c.actions.length === 1 && c.actions[0] === "no-op")).flatMap((c) => [c.after?.destination, c.before?.destination].filter((d): d is string => d !== undefined)));
    const stopped = () => request.signal?.aborted === true;
    const reports = await executePlan({ project: request.project, engine: session.engine, clients, journal, now: base.now, onEvent: emit, shouldStop: stopped }, executable);
    const after = await foldIntoState(base);
    const report = buildApplyReport(started, resumed, reports, after, stopped());
    return await finish(report.interrupted ? "interrupted" : report.success ? "applied" : "failed", report);
  } catch (error) {
    await history?.recordError(error);
    throw error;
  } finally {
    request.signal?.removeEventListener("abort", onAbort);
    journal.close();
    release?.();
    await clients.close();
    await session.close();
  }
}

async function planOrLoad(session: Session, request: ApplyRequest): Promise<ExecutablePlan> {
  const state = await session.backend.read();
  if (request.planFile) return loadSavedPlan(request.planFile, state, request.project, session.engine);
  return planInSession(session, { targets: request.targets ?? [], allowRemovals: request.allowRemovals === true, showMembers: 0, ...(request.refresh ? { refresh: true } : {}), ...(request.refreshFromBraze ? { refreshFromBraze: request.refreshFromBraze } : {}), ...(request.onEvent ? { onEvent: request.onEvent } : {}) });
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (typeof reason === "string") return reason;
  if (reason instanceof Error) return reason.message;
  return "aborted";
}
