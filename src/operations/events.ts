import type { ApplyEvent } from "../apply/events.js";
import type { ApplyReport } from "../apply/report.js";
import type { Action, MemberCounts, Plan } from "../model/plan.js";

/**
 * Everything an operation reports while it works, in order. Plain data, safe to
 * serialise: no event carries a secret or a member identifier (a plan carries
 * sample identifiers only when the caller asked for them with showMembers).
 * `coho plan|apply --output ndjson` writes these one per line
 * (schema/coho-events.schema.json); the last one is always `report`.
 */
export type OperationEvent =
  | {
      readonly type: "plan_started";
      readonly targets: readonly string[];
      /** The embedded DuckDB's resources (debug): its memory limit, where that came from, its threads. */
      readonly engine: { readonly memory_limit: string; readonly memory_limit_from: string; readonly threads: number };
    }
  | {
      readonly type: "cohort_planned";
      readonly address: string;
      readonly actions: readonly Action[];
      readonly members: MemberCounts;
      readonly rejected: number;
      readonly blocked: boolean;
    }
  /** apply only: the plan it is about to carry out (or refuses, when not applyable). */
  | { readonly type: "planned"; readonly plan: Plan }
  | { readonly type: "lock_waiting"; readonly holder: string }
  | { readonly type: "lock_taken_over"; readonly previous: string }
  /** The AbortSignal fired: requests in flight finish, no new one starts. */
  | { readonly type: "stopping"; readonly reason: string }
  | ApplyEvent
  | { readonly type: "report"; readonly command: "plan"; readonly plan: Plan }
  | { readonly type: "report"; readonly command: "apply"; readonly outcome: ApplyOutcome; readonly report: ApplyReport | null };

export type EventSink = (event: OperationEvent) => void;

/**
 * How an apply ended. applied: every cohort done. no_changes: nothing to send.
 * blocked: a guard or plan error forbids it. cancelled: the approval callback said no.
 * failed: some cohort failed (others may be done). interrupted: the AbortSignal stopped it.
 */
export type ApplyOutcome = "applied" | "no_changes" | "blocked" | "cancelled" | "failed" | "interrupted";

/** Operational knobs a front end may pass; defaults suit Braze's documented limits. */
export interface Tuning {
  /** Requests in flight per destination. */
  readonly concurrency?: number;
  /** The most requests in flight per destination when coho sizes the number (default 320). */
  readonly maxInFlight?: number;
  readonly retry?: { readonly maxAttempts?: number; readonly baseDelayMs?: number };
  /** DuckDB memory limit, e.g. "2GB" (default: a share of the machine's memory, see machineMemoryBudget). */
  readonly memoryLimit?: string;
}

/** Who takes the state lock, for the message another run shows while it waits. */
export interface LockRequest {
  /** How long to wait for a held state lock (default 0: fail at once, naming the holder). */
  readonly lockTimeoutMs?: number;
  /** The environment that names the holder (CI run ids, USER); the caller passes it: operations never read the process environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}
