/** How hard the client tries before it gives up on one request. */
export interface RetryPolicy {
  /** Attempts per request, the first included. Default 8. */
  readonly maxAttempts: number;
  /** First backoff ceiling; doubles each attempt. Default 250 ms. */
  readonly baseDelayMs: number;
  /** Largest single backoff. Default 20 s. */
  readonly maxDelayMs: number;
  /** Most time one request may spend waiting between attempts. Default 5 min. */
  readonly maxTotalWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 250, maxDelayMs: 20_000, maxTotalWaitMs: 300_000 };

/**
 * Exponential backoff with full jitter (AWS architecture blog): a uniform wait in
 * [0, min(max, base·2^(attempt-1))], so retrying clients spread out instead of
 * returning in step. A server hint (rate-limit reset, Retry-After) is a floor.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, hintMs: number | undefined, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  return hintMs === undefined ? jittered : Math.max(hintMs, Math.min(jittered, policy.baseDelayMs));
}

/** Retry-After: seconds or an HTTP date → milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
