/**
 * Paces requests by Braze's x-ratelimit-* headers: every request spends one of the
 * `remaining` calls of the current window; when none is left, wait for the reset
 * instead of collecting 429s. Conservative by construction: the local count is
 * decremented before sending and only ever lowered by what the server reports for
 * the same window, so requests in flight are never double-spent.
 */
export class RateLimiter {
  #remaining: number | undefined;
  #resetAtMs: number | undefined;
  #limit: number | undefined;
  /** Requests acquired whose answers have not been observed yet. */
  #inFlight = 0;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Called with the wait before a throttled request, for progress events. */
  onWait: ((ms: number) => void) | undefined;

  constructor(now: () => number = Date.now, sleep: (ms: number) => Promise<void> = defaultSleep) {
    this.#now = now;
    this.#sleep = sleep;
  }

  /** The current window as last reported (less what is in flight), once a response said so. */
  get allowance(): { readonly limit: number; readonly remaining: number; readonly resetAtMs: number } | undefined {
    if (this.#limit === undefined || this.#remaining === undefined || this.#resetAtMs === undefined) return undefined;
    return { limit: this.#limit, remaining: this.#remaining, resetAtMs: this.#resetAtMs };
  }

  /** Resolves when a request may be sent, and counts it. */
  async acquire(): Promise<void> {
    for (;;) {
      const now = this.#now();
      if (this.#resetAtMs !== undefined && now >= this.#resetAtMs) {
        // A new window: assume the full allowance until a response says otherwise.
        this.#remaining = this.#limit;
        this.#resetAtMs = undefined;
      }
      if (this.#remaining === undefined || this.#remaining > 0) {
        if (this.#remaining !== undefined) this.#remaining--;
        this.#inFlight++;
        return;
      }
      const wait = Math.max(1, (this.#resetAtMs ?? now + 1000) - now);
      this.onWait?.(wait);
      await this.#sleep(wait);
    }
  }

  /** Marks one acquired request as finished (answered or failed). */
  settle(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
  }

  /**
   * Learns from a response's headers (names in lower case). Call before settle().
   * The other requests in flight may not have reached the server when it counted,
   * so they are subtracted from what it reports: never over-spend the window.
   */
  observe(headers: Record<string, string | string[] | undefined>): void {
    const limit = numberHeader(headers["x-ratelimit-limit"]);
    const remaining = numberHeader(headers["x-ratelimit-remaining"]);
    const reset = numberHeader(headers["x-ratelimit-reset"]);
    if (limit === undefined || remaining === undefined || reset === undefined) return;
    const resetAtMs = reset * 1000;
    const reported = Math.max(0, remaining - Math.max(0, this.#inFlight - 1));
    this.#limit = limit;
    if (this.#resetAtMs === undefined || resetAtMs > this.#resetAtMs) {
      if (resetAtMs <= this.#now()) return; // a stale answer from a window already over
      this.#resetAtMs = resetAtMs;
      // Requests already counted locally may not have reached the server yet.
      this.#remaining = Math.min(this.#remaining ?? reported, reported);
    } else if (resetAtMs === this.#resetAtMs) {
      this.#remaining = Math.min(this.#remaining ?? reported, reported);
    }
  }

  /** After a 429: nothing is left until `resetAtMs`. */
  exhaustedUntil(resetAtMs: number): void {
    if (this.#resetAtMs === undefined || resetAtMs >= this.#resetAtMs) {
      this.#resetAtMs = resetAtMs;
      this.#remaining = 0;
    }
  }
}

function numberHeader(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
