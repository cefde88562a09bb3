import { CohoError } from "../model/errors.js";

/**
 * `coho apply --json` prints a report even when apply fails before it has one
 * (recovery of an interrupted apply failed, the lock was held, state unreadable):
 * success false, no cohorts, `state` null (it was not read to the end), and the
 * error. A pipeline that parses stdout always gets the report shape.
 */
export function applyFailureReport(started: Date, error: unknown, finished: Date = new Date()): object {
  const coho = error instanceof CohoError ? error : undefined;
  return {
    format: "coho-apply-report",
    format_version: "1.0",
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - started.getTime(),
    success: false,
    interrupted: false,
    resumed: null,
    state: null,
    cohorts: [],
    totals: { added: 0, removed: 0, rejected: 0, failed: 0, requests: 0, retries: 0 },
    error: {
      code: coho?.code ?? "internal",
      message: error instanceof Error ? error.message : String(error),
      ...(coho?.hint ? { hint: coho.hint } : {}),
    },
  };
}
