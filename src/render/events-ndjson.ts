import { CohoError, DiagnosticsError } from "../model/errors.js";
import { KNOWN_AFTER_APPLY } from "../model/pending-cohort-ids.js";
import type { OperationEvent } from "../operations/events.js";
import { diagnosticsJson } from "./diagnostics.js";

/** The line that ends a stream when the command could not run (schema/coho-events.schema.json). */
export interface ErrorEvent {
  readonly type: "error";
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly diagnostics?: readonly object[];
}

/**
 * One event as one line of NDJSON (no newline inside: JSON.stringify never
 * emits one), stamped with `at`, the time it is written: events are written as
 * they happen, so a consumer can time every step of a run.
 */
export function eventLine(event: OperationEvent | ErrorEvent, at: Date = new Date()): string {
  // As in --json: a cohort_id chosen only at apply time is null, never a made-up id.
  // `type` first, then `at`, then the event's own fields.
  return JSON.stringify(Object.assign({ type: event.type, at: at.toISOString() }, event), (key, value: unknown) => (key === "cohort_id" && value === KNOWN_AFTER_APPLY ? null : value));
}

/** The `error` event for a thrown error; messages of CohoError never carry secrets. */
export function errorEvent(error: unknown, cwd: string): ErrorEvent {
  if (error instanceof DiagnosticsError) {
    const { diagnostics } = diagnosticsJson(error.diagnostics, cwd) as { diagnostics: object[] };
    return { type: "error", code: error.code, message: error.message, diagnostics };
  }
  if (error instanceof CohoError) return { type: "error", code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { type: "error", code: "internal", message: error instanceof Error ? error.message : String(error) };
}
