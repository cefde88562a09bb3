/** Requests in flight before the first answer tells coho the rate limit. */
export const INITIAL_IN_FLIGHT = 4;
/**
 * The most requests coho keeps in flight to one destination. Braze's /users/track
 * allows 1,000 requests/s; at ~250 ms per request that takes ~250 in flight
 * (Little's law), so the cap sits just above it. Cohort Import (250,000/h ≈ 69/s)
 * needs ~20.
 */
export const DEFAULT_MAX_IN_FLIGHT = 320;
/**
 * Spare in-flight room over the bare Little's-law figure: latency varies (a pause
 * on either side stalls every request), and a window must be spent before it
 * ends. Room beyond need costs only idle connections: the rate limiter, not the
 * gate, holds the pace.
 */
const HEADROOM = 2;
/**
 * A pause either side may take while requests are out (a garbage collection, a
 * busy event loop), ms: the bound also covers this long at the needed rate, so
 * one stall does not leave a window short. Headroom as a factor alone does not:
 * against a near server (a few ms an answer) it sized /users/track's 1,000/s to
 * ~12 in flight, and any pause then cost the window requests. At 1,000/s this is
 * 50 more in flight; at Cohort Import's ~69/s, 4.
 */
const STALL_MS = 50;
/** Weight of the newest service time in the moving average. */
const SMOOTHING = 0.2;

export interface InFlightGateOptions {
  /** A fixed number of requests in flight (COHO_CONCURRENCY): no sizing. */
  readonly fixed?: number;
  /** Upper bound when sizing. Default DEFAULT_MAX_IN_FLIGHT. */
  readonly max?: number;
  readonly now?: () => number;
}

/**
 * Bounds the requests in flight to one destination and, unless fixed, sizes the
 * bound from what the server says and how fast it answers (Little's law): to send
 * the `remaining` requests of a window before its reset, coho needs
 * rate × service time requests in flight, with headroom: rate × (2 × service
 * time + 50 ms) + 2. A higher bound than that
 * would only queue at the rate limiter; a lower one leaves the limit unused.
 */
export class InFlightGate {
  readonly #fixed: number | undefined;
  readonly #max: number;
  readonly #now: () => number;
  #capacity: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  /** Moving average of how long the server takes to answer, ms. */
  #serviceMs: number | undefined;
  /** The longest time-to-reset seen, in whole seconds: the window length, as far as coho can tell. */
  #windowMs = 1000;

  constructor(options: InFlightGateOptions = {}) {
    this.#fixed = options.fixed === undefined ? undefined : Math.max(1, options.fixed);
    this.#max = Math.max(1, options.max ?? DEFAULT_MAX_IN_FLIGHT);
    this.#now = options.now ?? Date.now;
    this.#capacity = this.#fixed ?? Math.min(INITIAL_IN_FLIGHT, this.#max);
  }

  /** Requests allowed in flight now. */
  get capacity(): number {
    return this.#capacity;
  }

  /** The most requests this gate will ever allow in flight (for the connection pool). */
  get ceiling(): number {
    return this.#fixed ?? this.#max;
  }

  /**
   * How many batches to have under way: the requests in flight plus, when sized,
   * as many again being prepared (journaled, awaiting an fsync) so that a freed
   * slot is taken at once.
   */
  get producers(): number {
    return this.#fixed ?? 2 * this.#capacity;
  }

  /** Resolves when a request may go out; pair with exactly one release(). */
  async enter(): Promise<void> {
    if (this.#active < this.#capacity) {
      this.#active++;
      return;
    }
    // The slot is handed over by release() or grow(): #active already counts it.
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** Ends a request; `serviceMs` is how long the server took (omit when it never answered). */
  release(serviceMs?: number): void {
    if (serviceMs !== undefined && serviceMs >= 0) {
      this.#serviceMs = this.#serviceMs === undefined ? serviceMs : this.#serviceMs + SMOOTHING * (serviceMs - this.#serviceMs);
    }
    const next = this.#active <= this.#capacity ? this.#waiting.shift() : undefined;
    if (next) next();
    else this.#active--;
  }

  /**
   * Learns the rate limit from a response: `limit` per window, `remaining` of them
   * before `resetAtMs`. The rate to keep up is the larger of the window's average
   * (limit / window length, the length being the longest time-to-reset seen) and
   * what spends the rest of this window before it ends; a window ending sooner
   * than a second counts as a second, so its last moments ask for no burst. An
   * exhausted window thus keeps the bound the next one needs from its start.
   */
  observeAllowance(limit: number, remaining: number, resetAtMs: number): void {
    const untilReset = Math.max(1000, resetAtMs - this.#now());
    this.#windowMs = Math.max(this.#windowMs, Math.ceil(untilReset / 1000) * 1000);
    if (this.#fixed !== undefined || this.#serviceMs === undefined) return;
    const perMs = Math.max(limit / this.#windowMs, Math.max(0, remaining) / untilReset);
    const wanted = Math.ceil(perMs * (this.#serviceMs * HEADROOM + STALL_MS)) + 2;
    this.#capacity = Math.min(this.#max, Math.max(1, wanted));
    while (this.#active < this.#capacity && this.#waiting.length > 0) {
      this.#active++;
      this.#waiting.shift()!();
    }
  }
}
