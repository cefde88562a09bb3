import { describe, expect, it } from "vitest";
import { packBatches } from "../../src/destinations/shared/pack-batches.js";
import { RateLimiter } from "../../src/destinations/shared/rate-limiter.js";
import { DEFAULT_RETRY_POLICY, backoffDelay, parseRetryAfter } from "../../src/destinations/shared/retry-policy.js";

describe("backoff", () => {
  it("draws full jitter below a doubling ceiling, capped", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(policy, 1, undefined, () => 0.999)).toBe(99);
    expect(backoffDelay(policy, 3, undefined, () => 0.5)).toBe(200);
    expect(backoffDelay(policy, 10, undefined, () => 0.999)).toBe(999);
    expect(backoffDelay(policy, 4, undefined, () => 0)).toBe(0);
  });

  it("never waits less than the server asked", () => {
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 1, 4000, () => 0.9)).toBeGreaterThanOrEqual(4000);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe("rate limiter", () => {
  it("spends the window's remaining calls, then waits for the reset", async () => {
    let now = 10_000;
    const waits: number[] = [];
    const limiter = new RateLimiter(() => now, async (ms) => {
      waits.push(ms);
      now += ms;
    });
    await limiter.acquire();
    limiter.observe({ "x-ratelimit-limit": "3", "x-ratelimit-remaining": "2", "x-ratelimit-reset": "11" });
    limiter.settle();
    await limiter.acquire();
    await limiter.acquire();
    expect(waits).toEqual([]);
    await limiter.acquire(); // the window is spent: wait until 11 s
    expect(waits).toEqual([1000]);
  });

  it("wakes a request waiting for the reset as soon as an answer gives room back, and only as many as there is room for", async () => {
    const now = 10_000;
    const sleeps: { ms: number; woken: boolean }[] = [];
    // A clock that stands still: a sleeper ends only when woken, never by its timer.
    const limiter = new RateLimiter(() => now, (ms, signal) => {
      const sleep = { ms, woken: false };
      sleeps.push(sleep);
      return new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => {
          sleep.woken = true;
          resolve();
        }, { once: true }),
      );
    });
    const headers = (remaining: number) => ({ "x-ratelimit-limit": "10", "x-ratelimit-remaining": String(remaining), "x-ratelimit-reset": "13" });
    const first = await limiter.acquire();
    limiter.observe(headers(9), first);
    limiter.settle(first);
    const tickets: number[] = [];
    for (let i = 0; i < 4; i++) tickets.push(await limiter.acquire());
    // The server has counted only the first of these four when it answers it: 6 remain, 3 more on their way.
    limiter.observe(headers(6), tickets[0]);
    limiter.settle(tickets[0]);
    for (let i = 0; i < 3; i++) tickets.push(await limiter.acquire());
    // The local count is spent (6 − 3 in flight − 3 sent since): three requests wait for the reset at 13 s.
    let started = 0;
    const waiting = [0, 1, 2].map(() => limiter.acquire().then(() => started++));
    await Promise.resolve();
    expect(sleeps.map((s) => s.ms)).toEqual([3000, 3000, 3000]);
    expect(started).toBe(0);
    // An answer from this window says 2 remain with nothing else unanswered before it counted: two wake and go.
    for (const t of tickets.slice(1, 6)) limiter.settle(t);
    limiter.observe(headers(2), tickets[6]);
    limiter.settle(tickets[6]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(started).toBe(2);
    expect(sleeps.filter((s) => s.woken)).toHaveLength(2);
    // The third sleeps on (again: the room it was woken for, if any, is taken).
    expect(sleeps.at(-1)!.woken).toBe(false);
    expect(waiting).toHaveLength(3);
  });

  it("counts requests in flight against what the server reports", async () => {
    let now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(() => now, async (ms) => {
      waits.push(ms);
      now += ms;
    });
    for (let i = 0; i < 4; i++) await limiter.acquire(); // four sent before any answer
    // The first answer says 2 remain, but three others are still on their way.
    limiter.observe({ "x-ratelimit-limit": "5", "x-ratelimit-remaining": "2", "x-ratelimit-reset": "1" });
    limiter.settle();
    await limiter.acquire();
    expect(waits).toEqual([1000]);
  });
});

describe("packing", () => {
  it("fills every batch to the cap, additions first, sharing the seam", async () => {
    const adds = Array.from({ length: 1500 }, (_, i) => `external_id:a${i}`);
    const removes = Array.from({ length: 700 }, (_, i) => `external_id:r${i}`);
    const batches = [];
    for await (const batch of packBatches(adds, removes)) batches.push(batch);
    expect(batches.map((b) => [b.index, b.add.length, b.remove.length])).toEqual([
      [0, 1000, 0],
      [1, 500, 500],
      [2, 0, 200],
    ]);
  });
});
