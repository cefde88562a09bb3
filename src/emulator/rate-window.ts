/**
 * Fixed-window rate limit aligned to the epoch, like Braze's hourly windows: N
 * requests per window, counted whether or not they succeed. `reset` is the epoch
 * second at which the current window ends (x-ratelimit-reset).
 */
export class RateWindow {
  limit: number;
  readonly windowMs: number;
  #windowStart = 0;
  #used = 0;

  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Counts one request; `allowed` is false when it is over the limit. */
  take(now = Date.now()): { allowed: boolean; remaining: number; reset: number } {
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    if (start !== this.#windowStart) {
      this.#windowStart = start;
      this.#used = 0;
    }
    const allowed = this.limit <= 0 || this.#used < this.limit;
    if (allowed) this.#used++;
    const remaining = this.limit <= 0 ? 1_000_000 : Math.max(0, this.limit - this.#used);
    return { allowed, remaining, reset: Math.ceil((start + this.windowMs) / 1000) };
  }
}
