import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";
import type { MemberKey } from "../model/member-key.js";
import type { CostEstimate, GuardVerdict } from "../model/plan.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { CohortConfig, DestinationConfig, IdentifierConfig } from "../model/project.js";
import type { DestinationEventListener } from "./shared/events.js";
import type { MembershipBatch } from "./shared/pack-batches.js";
import type { RetryPolicy } from "./shared/retry-policy.js";

export type { MembershipBatch } from "./shared/pack-batches.js";

/**
 * The one interface every Braze road implements (DESIGN.md, destinations/). The
 * apply executor, journal and fold speak only this; what a road does with a
 * batch (cohort_changes, attribute objects…) stays inside its folder.
 */

/** Where a cohort's membership is written inside its destination. */
export interface MembershipTarget {
  /** coho's id for the cohort (the Braze cohort_id on the cohort road). */
  readonly cohortId: string;
  /** The road's own binding (e.g. the attribute), opaque to everyone else; undefined when the cohort id says it all. */
  readonly target: string | undefined;
}

/** One member Braze refused inside an otherwise accepted request. */
export interface MemberRefusal {
  readonly key: MemberKey;
  /** Braze's message for it, without any secret. */
  readonly message: string;
  /**
   * Not refused but not confirmed: Braze took the request, and a read-back found
   * no profile for this member, so its addition changed nothing (an update-only
   * object for an unknown user). Only an addition is ever unconfirmed; the member
   * is not recorded and is sent again on the next apply.
   */
  readonly unconfirmed?: true;
}

export interface MembershipHooks {
  /** Called before a batch is first sent (the apply journal writes it here). */
  readonly beforeSend?: (batch: MembershipBatch) => void | Promise<void>;
  /** Called once Braze answered a batch: every member not in `refused` is acknowledged. */
  readonly acknowledged?: (batch: MembershipBatch, refused: readonly MemberRefusal[]) => void | Promise<void>;
  /** Return true to stop starting new batches (in-flight ones finish). */
  readonly shouldStop?: () => boolean;
}

/**
 * One user's changes across the cohorts of a request group (see
 * `DestinationRoad.mergeKey`): indexes into the group's targets it joins and leaves.
 */
export interface MergedUser {
  readonly key: MemberKey;
  readonly add: readonly number[];
  readonly remove: readonly number[];
}

/** One request of a group: one attributes object (or the like) per user. */
export interface MergedBatch {
  /** 0-based position in the group's sequence of requests. */
  readonly index: number;
  readonly users: readonly MergedUser[];
}

export interface MergedHooks {
  readonly beforeSend?: (batch: MergedBatch) => void | Promise<void>;
  /** Every user not in `refused` is acknowledged in every cohort of the group it was sent for. */
  readonly acknowledged?: (batch: MergedBatch, refused: readonly MemberRefusal[]) => void | Promise<void>;
  readonly shouldStop?: () => boolean;
}

export interface MembershipResult {
  readonly requests: number;
  readonly identifiers: number;
  readonly retries: number;
  readonly stopped: boolean;
}

/** A read-only credential check: what `coho check` reports for a destination. */
export interface ProbeResult {
  readonly ok: boolean;
  /** What was tried and what it proves, e.g. "POST /users/export/ids with no ids: the key is valid". */
  readonly message: string;
  readonly hint?: string;
}

/**
 * Why a read-back member no longer holds what coho wrote: the value changed,
 * Braze has no profile for the user (absent: deleted, or never created — an
 * export cannot tell which), or a full array evicted it.
 */
export type DriftReason = "changed" | "absent" | "evicted";

/** What one member's attribute holds in Braze, read back; `absent` when the user does not exist. */
export type ReadBackValue = { readonly kind: "absent" } | { readonly kind: "value"; readonly value: unknown };

export interface DestinationClient {
  /** Retries performed so far, over all requests. */
  readonly retries: number;
  /** Readies the container of a cohort (the cohort road creates or renames it); returns the requests it spent. */
  prepare(cohort: { readonly cohortId: string; readonly name: string; readonly createdAt: string }): Promise<number>;
  /**
   * Streams additions and removals for one cohort in batches, up to the road's
   * concurrency at a time. On a failure no new batch starts, the ones in flight
   * finish, and the error is thrown.
   */
  syncMembership(
    target: MembershipTarget,
    adds: AsyncIterable<MemberKey> | Iterable<MemberKey>,
    removes: AsyncIterable<MemberKey> | Iterable<MemberKey>,
    hooks?: MembershipHooks,
  ): Promise<MembershipResult>;
  /**
   * Streams the changes of several cohorts that share requests (their targets have
   * one `mergeKey`): batches of users, one object per user carrying all of its
   * cohorts' changes. Only roads with `mergeKey` implement it.
   */
  syncMerged?(targets: readonly MembershipTarget[], users: AsyncIterable<MergedUser>, hooks?: MergedHooks): Promise<MembershipResult>;
  /** Sends one journaled batch again (an interrupted apply's unknown work); returns the refused members. */
  resend(target: MembershipTarget, batch: Pick<MembershipBatch, "add" | "remove">): Promise<readonly MemberRefusal[]>;
  /** Checks the credentials without changing anything users can see. */
  probe(): Promise<ProbeResult>;
  /** Reads back what Braze holds for these members, when the road can (undefined: it cannot). */
  readBack?(target: MembershipTarget, keys: readonly MemberKey[]): Promise<ReadonlyMap<MemberKey, ReadBackValue>>;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** Requests in flight at once. */
  readonly concurrency?: number;
  /** Upper bound on requests in flight when sized (see InFlightGate). */
  readonly maxConcurrency?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly timeoutMs?: number;
  readonly onEvent?: DestinationEventListener;
  readonly random?: () => number;
  /**
   * Checked right before every attempt of every request, first sends and retries
   * alike (after any wait for the rate limit or a Retry-After): throws to send
   * nothing more (the apply's state lock was lost). The error is passed on.
   */
  readonly fence?: () => Promise<void>;
}

/** The membership work of one cohort at one destination, as the plan counts it. */
export interface MembershipWork {
  /** Whether the cohort's container is prepared (created, renamed, re-targeted). */
  readonly prepare: boolean;
  /** One entry per membership stream: a re-target sends removals and additions separately. */
  readonly sends: readonly { readonly add: number; readonly remove: number }[];
}

/** A road: everything coho knows about one destination `type`, behind one face. */
export interface DestinationRoad<C extends DestinationConfig = DestinationConfig> {
  readonly type: C["type"];
  /** Road-specific checks of a cohort sent to this destination (identifier kinds, bindings). */
  validateCohort(config: C, cohort: CohortConfig, identifier: IdentifierConfig | undefined, at: (field: string) => SourceLocation | undefined): Diagnostic[];
  /** Checks across all cohorts of one destination (e.g. two cohorts writing one attribute). */
  validateCohorts(config: C, cohorts: readonly CohortConfig[], at: (cohort: CohortConfig, field: string) => SourceLocation | undefined): Diagnostic[];
  /** The road's binding of a cohort: compared by the planner, stored in state (undefined: none). */
  targetOf(cohort: CohortConfig): string | undefined;
  /** Member changes (or users, in a request group) per request. */
  requestSize(config: C): number;
  /**
   * Requests, attribute updates and time at the rate limit: exactly what apply
   * will send. `sends` are streams packed `requestSize` at a time, additions first.
   */
  estimate(config: C, work: MembershipWork): CostEstimate;
  open(config: C, options: ClientOptions): DestinationClient;
  /**
   * Cohorts of one destination whose targets have the same merge key share
   * requests: a user changing in several of them is one object in one request
   * (the attribute road: every boolean and array binding of the destination).
   * Undefined: never merged.
   */
  mergeKey?(target: string | undefined): string | undefined;
  /**
   * The field of a merged object that a target writes (the attribute road: the
   * attribute's name). The plan counts one attribute update per distinct (user,
   * field); targets without one count one update per user and cohort.
   */
  mergeField?(target: string | undefined): string | undefined;
  /** Guards only this road knows, per cohort address (e.g. the array cap of braze_attributes). */
  planGuards?(config: C, cohorts: readonly CohortConfig[], desiredTable: (address: string) => string | undefined, engine: DuckDbEngine): Promise<Map<string, GuardVerdict>>;
  /**
   * One config standing for several destinations of one workspace, for the checks
   * across cohorts and the plan guards: their names joined, each limit at its
   * strictest. Undefined: the first destination's config stands for all.
   */
  mergeWorkspace?(configs: readonly C[]): C;
  /** For roads that read back: whether a member's read-back value still says what coho wrote (undefined: it does). */
  drift?(config: C, target: string | undefined, value: ReadBackValue): DriftReason | undefined;
}
