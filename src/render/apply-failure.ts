import { buildApplyReport } from "../apply/report.js";
import { CohoError } from "../model/errors.js";

/**
 * `coho apply --json` prints a report even when apply fails before it has one
 * (recovery of an interrupted apply failed, the lock was held, state unreadable):
 * the usual report with no cohorts, success false, `state` null (it was not read
 * to the end), and the error. A pipeline that parses stdout always gets the
 * report shape.
 */
export function applyFailureReport(started: Date, error: unknown, finished: Date = new Date()): object {
  const coho = error instanceof CohoError ? error : undefined;
  const empty = buildApplyReport(started, null, [], { lineage: null, serial: 0 }, false, finished);
  return {
    ...empty,
    success: false,
    state: null,
    error: {
      code: coho?.code ?? "internal",
      message: error instanceof Error ? error.message : String(error),
      ...(coho?.hint ? { hint: coho.hint } : {}),
    },
  };
}
