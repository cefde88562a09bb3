import { resolve } from "node:path";
import kleur from "kleur";
import { DestinationClients } from "../../destinations/clients.js";
import type { ApplyEvent } from "../../apply/events.js";
import { executePlan, type ExecutablePlan } from "../../apply/execute-plan.js";
import { foldIntoState, recoverInterrupted } from "../../apply/recover.js";
import { totals, type ApplyReport } from "../../apply/report.js";
import { loadSavedPlan } from "../../apply/saved-plan.js";
import { CohoError } from "../../model/errors.js";
import { hasChanges } from "../../model/plan.js";
import { buildPlan } from "../../plan/build-plan.js";
import { openSession } from "../../plan/session.js";
import { renderApplyReport } from "../../render/apply-report.js";
import { renderPlanHuman } from "../../render/plan-human.js";
import { describeLock, newLockInfo } from "../../state/lock-holder.js";
import { ApplyProgress } from "../apply-progress.js";
import type { CommandContext } from "../context.js";
import { EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { ask } from "../prompt.js";
import { StopSignal } from "../signals.js";

export interface ApplyFlags {
  autoApprove?: boolean;
  json?: boolean;
  target: string[];
  allowRemovals?: boolean;
}


export async function runApply(ctx: CommandContext, planFile: string | undefined, flags: ApplyFlags): Promise<number> {
  const { io, output } = ctx;
  const project = loadConfigOrThrow(ctx);
  if (planFile && (flags.target.length > 0 || flags.allowRemovals)) {
    throw new CohoError("cli.usage", "--target and --allow-removals belong to the plan: give them to coho plan --out, not to apply PLAN_FILE");
  }
  const interactive = io.stdin.isTTY === true;
  if (!planFile && !flags.autoApprove && !interactive) {
    throw new CohoError("apply.needs_approval", "no terminal to ask for approval (stdin is not a TTY)", {
      hint: "add --auto-approve, or apply a reviewed plan: coho plan --out plan.coho && coho apply plan.coho",
    });
  }
  const started = new Date();
  const stop = new StopSignal();
  // In CI (CI=true) never animate, even when a pseudo-terminal is attached.
  const animate = io.stderr.isTTY === true && !io.env.CI;
  const progress = new ApplyProgress(output, animate, !flags.json);
  const session = await openSession(project, ctx.io.env.COHO_MEMORY_LIMIT ? { memoryLimit: ctx.io.env.COHO_MEMORY_LIMIT } : {});
  const clients = new DestinationClients(project, {
    ...tuning(io.env),
    onEvent: (_destination, event) => {
      if (event.type === "retry") progress.onEvent({ type: "retry", address: event.cohortId, reason: event.reason });
    },
  });
  const onEvent = (event: ApplyEvent) => {
    progress.onEvent(event);
    if (event.type === "resuming" && !flags.json) output.err(kleur.yellow(`Found an interrupted apply: finishing it first (${event.batches} request(s) of unknown fate for ${event.cohorts} cohort(s)).`));
  };
  stop.onStop = (signal) => {
    if (!flags.json) output.err(kleur.yellow(`\n${signal}: finishing requests in flight and saving state; no new requests start.`));
  };
  const journal = session.backend.journal();
  const now = () => new Date();
  let release: (() => void) | undefined;
  try {
    release = await session.backend.lock(newLockInfo("apply", io.env), ctx.global.lockTimeoutMs, {
      staleTakenOver: (previous) => output.err(kleur.yellow(`warning: took over a lock left by a process that no longer runs: ${describeLock(previous)}`)),
      waiting: (holder) => output.err(`Waiting for the state lock held by ${describeLock(holder)}…`),
    });
    const base = { journal, backend: session.backend, engine: session.engine, clients, now, onEvent };
    const resumed = await recoverInterrupted(base);
    const state = await session.backend.read();
    let executable: ExecutablePlan;
    if (planFile) {
      executable = await loadSavedPlan(resolve(io.cwd, planFile), state, project, session.engine);
    } else {
      executable = await buildPlan({
        project,
        backend: session.backend,
        engine: session.engine,
        sources: session.sources,
        options: { targets: flags.target, allowRemovals: flags.allowRemovals === true, showMembers: 0 },
      });
    }
    const { plan } = executable;
    if (!flags.json) output.out(renderPlanHuman(plan));
    if (!plan.applyable) return EXIT_ERROR;
    if (!hasChanges(plan)) {
      if (flags.json) output.out(JSON.stringify(report(started, resumed, [], state, false), null, 2));
      return EXIT_OK;
    }
    if (!planFile && !flags.autoApprove) {
      const answer = await ask(io, `\nDo you want to apply these changes to Braze? Only 'yes' is accepted: `);
      if (answer !== "yes") {
        output.err("Apply cancelled; nothing was sent.");
        return EXIT_ERROR;
      }
    }
    const reports = await executePlan({ project, engine: session.engine, clients, journal, now, onEvent, shouldStop: () => stop.stopped }, executable);
    const after = await foldIntoState(base);
    progress.stop();
    const result = report(started, resumed, reports, after, stop.stopped);
    output.out(flags.json ? JSON.stringify(result, null, 2) : `\n${renderApplyReport(result)}`);
    if (stop.exitCode !== undefined) return stop.exitCode;
    return result.success ? EXIT_OK : EXIT_ERROR;
  } finally {
    progress.stop();
    stop.dispose();
    journal.close();
    release?.();
    await clients.close();
    await session.close();
  }
}

/**
 * Operational knobs from the environment (documented in README): requests in
 * flight per destination, and the retry budget per request.
 */
function tuning(env: NodeJS.ProcessEnv): { concurrency?: number; retry?: { maxAttempts?: number; baseDelayMs?: number } } {
  const int = (name: string) => {
    const value = env[name];
    if (value === undefined || value === "") return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CohoError("cli.env", `${name} must be a whole number of at least 1`);
    return n;
  };
  const concurrency = int("COHO_CONCURRENCY");
  const maxAttempts = int("COHO_RETRY_MAX_ATTEMPTS");
  const baseDelayMs = int("COHO_RETRY_BASE_DELAY_MS");
  return {
    ...(concurrency ? { concurrency } : {}),
    ...(maxAttempts || baseDelayMs ? { retry: { ...(maxAttempts ? { maxAttempts } : {}), ...(baseDelayMs ? { baseDelayMs } : {}) } } : {}),
  };
}

function report(started: Date, resumed: ApplyReport["resumed"], cohorts: ApplyReport["cohorts"], state: { lineage: string | null; serial: number }, interrupted: boolean): ApplyReport {
  const finished = new Date();
  return {
    format: "coho-apply-report",
    format_version: "1.0",
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - started.getTime(),
    success: cohorts.every((c) => c.status === "done") && !interrupted,
    interrupted,
    resumed,
    state: { lineage: state.lineage, serial: state.serial },
    cohorts,
    totals: totals(cohorts),
  };
}
