import { randomUUID } from "node:crypto";
import type { HistoryCohort, HistoryOutcome, HistoryRecord } from "../model/history.js";
import type { Plan } from "../model/plan.js";
import { noRejections } from "../model/reject-reason.js";
import { describeHolder } from "../state/lock-holder.js";
import { COHO_VERSION } from "../version.js";
import type { ApplyReport } from "./report.js";

export interface ApplyHistoryInput {
  readonly started: Date;
  readonly finished: Date;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly outcome: HistoryOutcome;
  readonly before: { readonly lineage: string | null; readonly serial: number };
  /** The plan carried out, when the apply got that far. */
  readonly plan: Plan | null;
  /** The executor's report, when anything ran (or there was nothing to run). */
  readonly report: ApplyReport | null;
  /** An error that stopped the apply after it took the lock. */
  readonly error?: string;
  /** Each cohort's member count in state after the apply, read back from state. */
  readonly sizes?: ReadonlyMap<string, number>;
  /** The environment applied to, when coho.yaml declares environments. */
  readonly environment?: string;
}

/**
 * The history record of one apply: counts and outcomes per cohort from the
 * report, refused rows by reason from the plan. Built from counts only, so no
 * member key can reach it.
 */
export function buildHistoryRecord(input: ApplyHistoryInput): HistoryRecord {
  const { plan, report } = input;
  const reported = new Map((report?.cohorts ?? []).map((c) => [c.address, c]));
  const cohorts: HistoryCohort[] = (plan?.cohorts ?? []).map((planned) => {
    const done = reported.get(planned.address);
    return {
      address: planned.address,
      actions: done?.actions ?? planned.actions,
      status: done?.status ?? (planned.actions.every((a) => a === "no-op") ? "unchanged" : "not_run"),
      added: done?.added ?? 0,
      removed: done?.removed ?? 0,
      failed: done?.failed ?? 0,
      requests: done?.requests ?? 0,
      retries: done?.retries ?? 0,
      refused: { ...noRejections(), ...planned.rejected },
      ...sizeOf(planned.address, input.sizes),
      ...(done?.error ? { error: done.error } : {}),
    };
  });
  const sum = (key: "added" | "removed" | "failed" | "requests" | "retries") => cohorts.reduce((n, c) => n + c[key], 0);
  const refused = cohorts.reduce((n, c) => n + Object.values(c.refused).reduce((a, b) => a + b, 0), 0);
  const errors = [
    ...(plan?.errors ?? []),
    ...cohorts.flatMap((c) => (c.error ? [`${c.address}: ${c.error}`] : [])),
    ...(input.error ? [input.error] : []),
  ];
  return {
    format: "coho-history",
    format_version: "1.0",
    id: randomUUID(),
    started_at: input.started.toISOString(),
    finished_at: input.finished.toISOString(),
    who: describeHolder(input.env),
    coho_version: COHO_VERSION,
    ...(input.environment === undefined ? {} : { environment: input.environment }),
    outcome: input.outcome,
    lineage: report?.state.lineage ?? input.before.lineage,
    serial_before: input.before.serial,
    serial_after: report?.state.serial ?? input.before.serial,
    resumed: report?.resumed ?? null,
    cohorts,
    totals: { added: sum("added"), removed: sum("removed"), failed: sum("failed"), requests: sum("requests"), retries: sum("retries"), refused },
    errors,
  };
}

/** A cohort's size after the apply: its count in state, 0 when state no longer holds it. */
function sizeOf(address: string, sizes: ReadonlyMap<string, number> | undefined): { members?: number } {
  if (sizes === undefined) return {};
  return { members: sizes.get(address) ?? 0 };
}
