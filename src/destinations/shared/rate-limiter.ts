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
  /** Tickets of the requests acquired whose answers have not been settled yet, oldest first. */
  readonly #inFlight = new Set<number>();
  /** Requests acquired so far: the ticket of the latest. */
  #acquired = 0;
  /** The first ticket of the current local window: answers to requests from there on are trusted as they are. */
  #windowFirstTicket = 0;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Requests waiting for room, oldest first: each is woken at the reset, or sooner when an answer gives room back. */
  readonly #waiting = new Set<AbortController>();
  /** Called with the wait before a throttled request, for progress events. */
  onWait: ((ms: number) => void) | undefined;

  constructor(now: () => number = Date.now, sleep: (ms: number, signal: AbortSignal) => Promise<void> = defaultSleep) {
    this.#now = now;
    this.#sleep = sleep;
  }

  /** The current window as last reported (less what is in flight), once a response said so. */
  get allowance(): { readonly limit: number; readonly remaining: number; readonly resetAtMs: number } | undefined {
    if (this.#limit === undefined || this.#remaining === undefined || this.#resetAtMs === undefined) return undefined;
    return { limit: this.#limit, remaining: this.#remaining, resetAtMs: this.#resetAtMs };
  }

  /** Resolves when a request may be sent, and counts it; returns its ticket for observe(). */
  async acquire(): Promise<number> {
    for (;;) {
      const now = this.#now();
      if (this.#resetAtMs !== undefined && now >= this.#resetAtMs) {
        // A new window: the full allowance, less the requests still on their way,
        // which may reach the server after its window turned and count in the new one.
        this.#remaining = this.#limit === undefined ? undefined : Math.max(0, this.#limit - this.#inFlight.size);
        // Until an answer names the new window's end: the next whole second, which no
        // epoch-aligned window of whole seconds ends before, so a wait is never too long.
        this.#resetAtMs = Math.floor(now / 1000) * 1000 + 1000;
        this.#windowFirstTicket = this.#acquired + 1;
      }
      if (this.#remaining === undefined || this.#remaining > 0) {
        if (this.#remaining !== undefined) this.#remaining--;
        this.#inFlight.add(++this.#acquired);
        return this.#acquired;
      }
      const wait = Math.max(1, (this.#resetAtMs ?? now + 1000) - now);
      this.onWait?.(wait);
      await this.#waitForRoom(wait);
    }
  }

  /**
   * Sleeps until the reset, unless an answer gives room back first (see #wakeWaiting):
   * the local count is conservative (requests in flight are held back until answered),
   * so it can reach zero while the server still has room; sleeping out the rest of
   * the window then left up to a tenth of a 3-second window unused.
   */
  async #waitForRoom(ms: number): Promise<void> {
    const wake = new AbortController();
    this.#waiting.add(wake);
    try {
      await this.#sleep(ms, wake.signal);
    } finally {
      this.#waiting.delete(wake);
    }
  }

  /** Wakes as many waiting requests as there is room for, oldest first; they count it again themselves. */
  #wakeWaiting(): void {
    let room = this.#remaining ?? 0;
    for (const wake of this.#waiting) {
      if (room-- <= 0) break;
      this.#waiting.delete(wake);
      wake.abort();
    }
  }

  /** Marks one acquired request as finished (answered or failed). */
  settle(ticket?: number): void {
    const oldest = this.#inFlight.values().next();
    if (ticket !== undefined) this.#inFlight.delete(ticket);
    else if (!oldest.done) this.#inFlight.delete(oldest.value);
  }

  /**
   * Learns from a response's headers (names in lower case). Call before settle().
   * Requests that may not have reached the server when it counted this one are
   * subtracted from what it reports (see #notCounted): never over-spend the window.
   */
  observe(headers: Record<string, string | string[] | undefined>, ticket?: number): void {
    const limit = numberHeader(headers["x-ratelimit-limit"]);
    const remaining = numberHeader(headers["x-ratelimit-remaining"]);
    const reset = numberHeader(headers["x-ratelimit-reset"]);
    if (limit === undefined || remaining === undefined || reset === undefined) return;
    const resetAtMs = reset * 1000;
    const reported = Math.max(0, remaining - this.#notCounted(ticket));
    this.#limit = limit;
    if (this.#resetAtMs === undefined || resetAtMs > this.#resetAtMs) {
      if (resetAtMs <= this.#now()) return; // a stale answer from a window already over
      this.#resetAtMs = resetAtMs;
      this.#remaining = this.#merge(reported, ticket);
    } else if (resetAtMs === this.#resetAtMs) {
      this.#remaining = this.#merge(reported, ticket);
    }
    if (this.#waiting.size > 0) this.#wakeWaiting();
  }

  /**
   * Requests the server may not have counted when it answered `ticket`: every one
   * sent after it, and those sent before it still unanswered (a large body can
   * reach the server after a later, smaller one). Without a ticket: all others in flight.
   */
  #notCounted(ticket: number | undefined): number {
    if (ticket === undefined) return Math.max(0, this.#inFlight.size - 1);
    let before = 0;
    for (const t of this.#inFlight) if (t < ticket) before++;
    return this.#acquired - ticket + before;
  }

  /**
   * The server's count, less what it may not have counted, bounds what is left
   * from below when the request was sent in this local window: it may give back
   * what the window's start held back for requests then in flight. An answer to
   * an older request may only lower the local count.
   */
  #merge(reported: number, ticket: number | undefined): number {
    if (ticket !== undefined && ticket >= this.#windowFirstTicket) return reported;
    return Math.min(this.#remaining ?? reported, reported);
  }

  /**
   * After a 429: nothing is left until `resetAtMs`. A 429 from a window already
   * over says nothing about this one: taking it would restart the local window
   * with a full allowance the server has partly spent.
   */
  exhaustedUntil(resetAtMs: number): void {
    if (resetAtMs <= this.#now()) return;
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

/** Resolves after `ms`, or at once when `signal` aborts (its timer cleared: nothing keeps the process up). */
function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
