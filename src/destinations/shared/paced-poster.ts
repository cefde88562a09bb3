import type { Pool } from "undici";
import { COHO_VERSION } from "../../version.js";
import type { DestinationEventListener } from "./events.js";
import { InFlightGate } from "./in-flight-gate.js";
import { RateLimiter } from "./rate-limiter.js";
import { DEFAULT_RETRY_POLICY, backoffDelay, parseRetryAfter, type RetryPolicy } from "./retry-policy.js";
import { sendOnce, type AttemptOutcome } from "./send-once.js";
import { redactKnown } from "../../model/redaction.js";

export interface PacedPosterOptions {
  /** Base URL, e.g. https://rest.iad-01.braze.com (http only for loopback). */
  readonly endpoint: string;
  /** A fixed number of requests in flight. Default: sized from the rate limit and latency (see InFlightGate). */
  readonly concurrency?: number;
  /** Upper bound on requests in flight when sized. Default DEFAULT_MAX_IN_FLIGHT. */
  readonly maxConcurrency?: number;
  /** Per-attempt timeout, ms. Default 30 s. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly onEvent?: DestinationEventListener;
  /** For tests: the jitter source. */
  readonly random?: () => number;
  /** Every credential the requests carry: redacted from any text passed on. */
  readonly secrets: () => readonly string[];
  /** Checked right before each attempt leaves, after every wait: throws to send nothing more (see ClientOptions.fence). */
  readonly fence?: () => Promise<void>;
}

/** What one logical request is, for events and errors. */
export interface PostLabel {
  readonly endpoint: string;
  readonly cohortId: string;
  readonly identifiers: number;
}

export type FinalOutcome = { readonly ok: true; readonly status: number; readonly body: string; readonly attempts: number } | { readonly ok: false; readonly outcome: AttemptOutcome | undefined; readonly attempts: number };

/**
 * The HTTP road every destination shares: a keep-alive undici pool, pacing by
 * Braze's X-RateLimit-* headers, retries with full-jitter backoff on 429, 5xx,
 * dropped connections and timeouts; never a retry on another 4xx. Both roads send
 * idempotent changes, so re-sending a request whose answer was lost is safe.
 */
export class PacedPoster {
  readonly #options: PacedPosterOptions;
  /** Opened on the first request: undici is loaded only by commands that send (start-up of validate/plan stays light). */
  #pool: Promise<Pool> | undefined;
  readonly #origin: string;
  readonly #limiter = new RateLimiter();
  readonly #gate: InFlightGate;
  readonly #policy: RetryPolicy;
  readonly #random: () => number;
  #retries = 0;

  constructor(options: PacedPosterOptions) {
    this.#options = options;
    this.#gate = new InFlightGate({ ...(options.concurrency === undefined ? {} : { fixed: options.concurrency }), ...(options.maxConcurrency === undefined ? {} : { max: options.maxConcurrency }) });
    this.#origin = new URL(options.endpoint).origin;
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#random = options.random ?? Math.random;
    this.#limiter.onWait = (waitMs) => options.onEvent?.({ type: "throttled", waitMs });
  }

  /** Batches to keep under way (journaled or in flight) now: changes as the rate limit and latency become known. */
  get concurrency(): number {
    return this.#gate.producers;
  }

  get retries(): number {
    return this.#retries;
  }

  get maxAttempts(): number {
    return this.#policy.maxAttempts;
  }

  /** Posts `body` to `path` until Braze answers 2xx, refuses for good, or retries run out. */
  async post(path: string, body: string, label: PostLabel, headers: Readonly<Record<string, string>> = {}): Promise<FinalOutcome> {
    const { onEvent } = this.#options;
    let waited = 0;
    let last: AttemptOutcome | undefined;
    for (let attempt = 1; attempt <= this.#policy.maxAttempts; attempt++) {
      last = await this.#attempt(path, body, headers, () => onEvent?.({ type: "request", ...label, attempt }));
      if (last.kind === "ok") {
        onEvent?.({ type: "acknowledged", ...label, attempts: attempt, status: last.status });
        return { ok: true, status: last.status, body: last.body, attempts: attempt };
      }
      if (last.kind === "fatal" || attempt === this.#policy.maxAttempts) break;
      const delayMs = backoffDelay(this.#policy, attempt, this.#serverHint(last), this.#random);
      if (waited + delayMs > this.#policy.maxTotalWaitMs) break;
      waited += delayMs;
      this.#retries++;
      onEvent?.({ type: "retry", endpoint: label.endpoint, cohortId: label.cohortId, attempt, reason: this.redact(last.reason), delayMs, ...(last.status === undefined ? {} : { status: last.status }) });
      await sleep(delayMs);
    }
    return { ok: false, outcome: last, attempts: last?.kind === "fatal" ? 1 : this.#policy.maxAttempts };
  }

  /** One request through the gate and the limiter; only the server's time counts as service time. */
  async #attempt(path: string, body: string, headers: Readonly<Record<string, string>>, announce: () => void): Promise<AttemptOutcome> {
    await this.#gate.enter();
    let serviceMs: number | undefined;
    try {
      const ticket = await this.#limiter.acquire();
      // The last moment before the bytes leave: every wait (the gate, the rate
      // limit, a retry's backoff or Retry-After) is behind it.
      try {
        await this.#options.fence?.();
      } catch (error) {
        this.#limiter.settle(ticket);
        throw error;
      }
      announce();
      const pool = await this.#openPool();
      const sentAt = Date.now();
      const outcome = await sendOnce(pool, path, body, { timeoutMs: this.#options.timeoutMs ?? 30_000, userAgent: `coho/${COHO_VERSION} node/${process.versions.node}`, headers });
      if (outcome.headers) {
        serviceMs = Date.now() - sentAt;
        this.#limiter.observe(outcome.headers, ticket);
      }
      this.#limiter.settle(ticket);
      return outcome;
    } finally {
      this.#gate.release(serviceMs);
      const allowance = this.#limiter.allowance;
      if (allowance) this.#gate.observeAllowance(allowance.limit, allowance.remaining, allowance.resetAtMs);
    }
  }

  /** Braze may echo a credential ("…with client secret: …"): never pass it on. */
  redact(text: string): string {
    let result = redactKnown(text);
    for (const secret of this.#options.secrets()) {
      if (secret.length > 0) result = result.split(secret).join("***");
    }
    return result;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool).close();
  }

  #openPool(): Promise<Pool> {
    // Connections open only as needed: the pool allows the most the gate ever will.
    this.#pool ??= import("undici").then(({ Pool }) => new Pool(this.#origin, { connections: this.#gate.ceiling, pipelining: 1 }));
    return this.#pool;
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
}

function header(headers: AttemptOutcome["headers"], name: string): string | undefined {
  const value = headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
