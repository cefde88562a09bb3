import type { Action } from "./plan.js";
import type { RejectReason } from "./reject-reason.js";

/** How many apply records state keeps; older ones are dropped as new ones arrive. */
export const HISTORY_LIMIT = 1000;

/**
 * How an apply ended, as recorded. applied: every cohort done. no_changes:
 * nothing to send. blocked: a guard or plan error refused it. cancelled: not
 * approved. failed: some cohort failed. interrupted: SIGINT/SIGTERM stopped it.
 * error: it stopped on an error after taking the lock (the message is in errors).
 */
export type HistoryOutcome = "applied" | "no_changes" | "blocked" | "cancelled" | "failed" | "interrupted" | "error";

/** One cohort's part of an apply. Counts only: never a member key. */
export interface HistoryCohort {
  readonly address: string;
  readonly actions: readonly Action[];
  /** unchanged: nothing to do. not_run: planned, but the apply stopped before it (blocked, cancelled, error). */
  readonly status: "done" | "partial" | "failed" | "stopped" | "skipped" | "unchanged" | "not_run";
  readonly added: number;
  readonly removed: number;
  readonly failed: number;
  readonly requests: number;
  readonly retries: number;
  /** Model rows that did not become members, by reason. */
  readonly refused: Readonly<Record<RejectReason, number>>;
  /**
   * Members in state right after this apply (0 once deleted). Absent in records
   * written before coho recorded it, and when state could not be read back.
   */
  readonly members?: number;
  readonly error?: string;
}

/**
 * One apply, appended to state (`.coho/history.jsonl`, or the `history` table of
 * the PostgreSQL backend). Holds no member keys and no secrets.
 */
export interface HistoryRecord {
  readonly format: "coho-history";
  readonly format_version: "1.0";
  readonly id: string;
  readonly started_at: string;
  readonly finished_at: string;
  /** `user@host` or the CI run, as in the state lock. */
  readonly who: string;
  readonly coho_version: string;
  /** The environment applied to, when coho.yaml declares environments (each keeps its own history). */
  readonly environment?: string;
  readonly outcome: HistoryOutcome;
  readonly lineage: string | null;
  readonly serial_before: number;
  readonly serial_after: number;
  /** Work of an earlier, interrupted apply this one finished first. */
  readonly resumed: { readonly cohorts: number; readonly batches: number } | null;
  readonly cohorts: readonly HistoryCohort[];
  readonly totals: { readonly added: number; readonly removed: number; readonly failed: number; readonly requests: number; readonly retries: number; readonly refused: number };
  readonly errors: readonly string[];
}

export interface HistoryQuery {
  /** Only the newest `last` records (after the address filter). */
  readonly last?: number;
  /** Only applies that changed (or tried to change) this cohort address. */
  readonly address?: string;
}

/** Where the records live; each backend keeps the newest HISTORY_LIMIT. */
export interface HistoryStore {
  append(record: HistoryRecord): Promise<void>;
  /** Oldest first. */
  list(query?: HistoryQuery): Promise<HistoryRecord[]>;
}

/** Applies the query to records held oldest first. */
export function selectHistory(records: readonly HistoryRecord[], query: HistoryQuery = {}): HistoryRecord[] {
  const matching = query.address === undefined ? [...records] : records.filter((r) => r.cohorts.some((c) => c.address === query.address && touched(c)));
  return query.last === undefined ? matching : matching.slice(Math.max(0, matching.length - query.last));
}

/** A cohort an apply had something to do for (a no-op one was only looked at). */
export function touched(cohort: HistoryCohort): boolean {
  return cohort.actions.some((a) => a !== "no-op") || cohort.added + cohort.removed + cohort.failed > 0;
}
