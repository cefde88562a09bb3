import { Pool } from "undici";
import type { MemberKey } from "../model/member-key.js";
import type { Secret } from "../model/secret.js";
import { COHO_VERSION } from "../version.js";
import { BrazeApiError, hintFor } from "./braze-error.js";
import type { BrazeEndpoint, BrazeEventListener } from "./events.js";
import { cohortChanges } from "./membership-body.js";
import { packBatches, type MembershipBatch } from "./pack-batches.js";
import { RateLimiter } from "./rate-limiter.js";
import { DEFAULT_RETRY_POLICY, backoffDelay, parseRetryAfter, type RetryPolicy } from "./retry-policy.js";
import { sendOnce, type AttemptOutcome } from "./send-once.js";

export interface BrazeClientOptions {
  /** Base URL, e.g. https://rest.iad-01.braze.com (http only for loopback). */
  readonly endpoint: string;
  readonly partner: string;
  readonly partnerApiKey: Secret;
  readonly dataImportKey: Secret;
  /** Destination name, for hints in errors. */
  readonly destination?: string;
  /** Requests in flight at once (and pooled connections). Default 4. */
  readonly concurrency?: number;
  /** Per-attempt timeout, ms. Default 30 s. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly onEvent?: BrazeEventListener;
  /** For tests: the jitter source. */
  readonly random?: () => number;
}

export interface MembershipHooks {
  /** Called before a batch is first sent (the apply journal writes it here). */
  readonly beforeSend?: (batch: MembershipBatch) => void | Promise<void>;
  /** Called once Braze acknowledged a batch. */
  readonly acknowledged?: (batch: MembershipBatch) => void | Promise<void>;
  /** Return true to stop starting new batches (in-flight ones finish). */
  readonly shouldStop?: () => boolean;
}

export interface MembershipResult {
  readonly requests: number;
  readonly identifiers: number;
  readonly retries: number;
  readonly stopped: boolean;
}

/**
 * Braze's partner Cohort Import API over a keep-alive undici pool: cohort upserts
 * and membership batches of at most 1,000 identifiers, paced by the rate-limit
 * headers, retried with backoff on 429, 5xx, dropped connections and timeouts.
 * Never retries 400/401. Credentials travel only in request bodies and never
 * appear in errors or events.
 */
export class BrazeClient {
  readonly #options: BrazeClientOptions;
  readonly #pool: Pool;
  readonly #limiter = new RateLimiter();
  readonly #policy: RetryPolicy;
  readonly #random: () => number;
  readonly #concurrency: number;
  #retries = 0;

  constructor(options: BrazeClientOptions) {
    this.#options = options;
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#pool = new Pool(new URL(options.endpoint).origin, { connections: this.#concurrency, pipelining: 1 });
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#random = options.random ?? Math.random;
    this.#limiter.onWait = (waitMs) => options.onEvent?.({ type: "throttled", waitMs });
  }

  /** Retries performed so far by this client, over all requests. */
  get retries(): number {
    return this.#retries;
  }

  /** Creates or renames a cohort (an upsert keyed by cohort_id). */
  async upsertCohort(cohort: { cohortId: string; name: string; createdAt: Date | string }): Promise<void> {
    const createdAt = typeof cohort.createdAt === "string" ? cohort.createdAt : cohort.createdAt.toISOString();
    await this.#post("cohorts", cohort.cohortId, 0, { cohort_id: cohort.cohortId, name: cohort.name, created_at: createdAt });
  }

  /** Sends one batch of membership changes (at most 1,000 identifiers). */
  async sendBatch(cohortId: string, batch: Pick<MembershipBatch, "add" | "remove">): Promise<void> {
    const identifiers = batch.add.length + batch.remove.length;
    await this.#post("cohorts/users", cohortId, identifiers, { cohort_id: cohortId, cohort_changes: cohortChanges(batch.add, batch.remove) });
  }

  /**
   * Streams additions and removals for one cohort as exactly ceil(n / 1,000)
   * requests, up to `concurrency` at a time. On a failure no new batch starts, the
   * ones in flight finish, and the error is thrown.
   */
  async syncMembership(
    cohortId: string,
    adds: AsyncIterable<MemberKey> | Iterable<MemberKey>,
    removes: AsyncIterable<MemberKey> | Iterable<MemberKey>,
    hooks: MembershipHooks = {},
  ): Promise<MembershipResult> {
    const batches = packBatches(adds, removes);
    const retriesBefore = this.#retries;
    let requests = 0;
    let identifiers = 0;
    let failure: unknown;
    let stopped = false;
    const worker = async (): Promise<void> => {
      for (;;) {
        if (failure !== undefined) return;
        if (hooks.shouldStop?.()) {
          stopped = true;
          return;
        }
        const next = await batches.next();
        if (next.done) return;
        const batch = next.value;
        try {
          await hooks.beforeSend?.(batch);
          await this.sendBatch(cohortId, batch);
          requests++;
          identifiers += batch.add.length + batch.remove.length;
          await hooks.acknowledged?.(batch);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: this.#concurrency }, worker));
    if (failure !== undefined) throw failure;
    return { requests, identifiers, retries: this.#retries - retriesBefore, stopped };
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #post(endpoint: BrazeEndpoint, cohortId: string, identifiers: number, fields: Record<string, unknown>): Promise<void> {
    const { onEvent } = this.#options;
    // The only place credentials are revealed: into the request body.
    const body = JSON.stringify({
      partner_api_key: this.#options.partnerApiKey.reveal(),
      client_secret: this.#options.dataImportKey.reveal(),
      ...fields,
    });
    const path = `/partners/${encodeURIComponent(this.#options.partner)}/${endpoint}`;
    let waited = 0;
    let last: AttemptOutcome | undefined;
    for (let attempt = 1; attempt <= this.#policy.maxAttempts; attempt++) {
      await this.#limiter.acquire();
      onEvent?.({ type: "request", endpoint, cohortId, identifiers, attempt });
      last = await sendOnce(this.#pool, path, body, { timeoutMs: this.#options.timeoutMs ?? 30_000, userAgent: `coho/${COHO_VERSION} node/${process.versions.node}` });
      if (last.headers) this.#limiter.observe(last.headers);
      this.#limiter.settle();
      if (last.kind === "ok") {
        onEvent?.({ type: "acknowledged", endpoint, cohortId, identifiers, attempts: attempt, status: last.status });
        return;
      }
      if (last.kind === "fatal" || attempt === this.#policy.maxAttempts) break;
      const hint = this.#serverHint(last);
      const delayMs = backoffDelay(this.#policy, attempt, hint, this.#random);
      if (waited + delayMs > this.#policy.maxTotalWaitMs) break;
      waited += delayMs;
      this.#retries++;
      onEvent?.({ type: "retry", endpoint, cohortId, attempt, reason: this.#redact(last.reason), delayMs, ...(last.status === undefined ? {} : { status: last.status }) });
      await sleep(delayMs);
    }
    throw this.#failure(endpoint, cohortId, last);
  }

  /** How long the server asked us to wait, if it did. */
  #serverHint(outcome: AttemptOutcome): number | undefined {
    const now = Date.now();
    const retryAfter = parseRetryAfter(header(outcome.headers, "retry-after"), now);
    if (outcome.status !== 429) return retryAfter;
    const reset = Number(header(outcome.headers, "x-ratelimit-reset"));
    if (Number.isFinite(reset) && reset > 0) {
      this.#limiter.exhaustedUntil(reset * 1000);
      return Math.max(retryAfter ?? 0, reset * 1000 - now);
    }
    return retryAfter;
  }

  #failure(endpoint: BrazeEndpoint, cohortId: string, outcome: AttemptOutcome | undefined): BrazeApiError {
    const message = this.#redact(outcome?.reason ?? "no attempt was made");
    const destination = this.#options.destination ?? "braze";
    const error = new BrazeApiError({
      status: outcome?.status,
      brazeMessage: message,
      attempts: outcome?.kind === "fatal" ? 1 : this.#policy.maxAttempts,
      context: `${endpoint === "cohorts" ? "cohort upsert" : "membership update"} for cohort ${cohortId} (destination ${destination})`,
      ...optionalHint(hintFor(outcome?.status, message, destination, {
        partnerApiKey: this.#options.partnerApiKey.source,
        dataImportKey: this.#options.dataImportKey.source,
      })),
    });
    this.#options.onEvent?.({ type: "failed", endpoint, cohortId, message: error.message, ...(outcome?.status === undefined ? {} : { status: outcome.status }) });
    return error;
  }

  /** Braze may echo a credential ("…with client secret: …"): never pass it on. */
  #redact(text: string): string {
    let result = text;
    for (const secret of [this.#options.partnerApiKey.reveal(), this.#options.dataImportKey.reveal()]) {
      if (secret.length > 0) result = result.split(secret).join("***");
    }
    return result;
  }
}

function optionalHint(hint: string | undefined): { hint?: string } {
  return hint === undefined ? {} : { hint };
}

function header(headers: AttemptOutcome["headers"], name: string): string | undefined {
  const value = headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
