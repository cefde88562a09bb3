import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_IN_FLIGHT, INITIAL_IN_FLIGHT, InFlightGate } from "../../src/destinations/shared/in-flight-gate.js";
import { RateLimiter } from "../../src/destinations/shared/rate-limiter.js";
import { tuningFromEnv } from "../../src/cli/tuning.js";

/** A gate that has seen one answer taking `serviceMs`. */
function gateAfterOneAnswer(serviceMs: number, options: ConstructorParameters<typeof InFlightGate>[0] = {}) {
  const gate = new InFlightGate({ now: () => 0, ...options });
  return gate.enter().then(() => {
    gate.release(serviceMs);
    return gate;
  });
}

describe("requests in flight, sized from the rate limit and the service time", () => {
  it("starts at the initial bound and sizes by Little's law with headroom once answers arrive", async () => {
    expect(new InFlightGate().capacity).toBe(INITIAL_IN_FLIGHT);
    const distant = await gateAfterOneAnswer(250);
    distant.observeAllowance(50, 49, 1000); // 50/s, 250 ms an answer: 12.5 needed; 50/s × (2 × 250 + 50 ms stall) + 2
    expect(distant.capacity).toBe(30);
    const near = await gateAfterOneAnswer(10);
    near.observeAllowance(50, 49, 1000); // 50/s × (20 + 50 ms) + 2
    expect(near.capacity).toBe(6);
    // /users/track at Braze's 3,000 per 3 s against a near server (5 ms): the stall allowance, not the answer time, sizes it.
    const track = await gateAfterOneAnswer(5);
    track.observeAllowance(3000, 2999, 3000);
    expect(track.capacity).toBe(Math.ceil(1 * (5 * 2 + 50)) + 2);
    // Braze's Cohort Import limit: 250,000 per hour (≈ 69/s) at 250 ms.
    const hourly = await gateAfterOneAnswer(250);
    hourly.observeAllowance(250_000, 250_000, 3_600_000);
    expect(hourly.capacity).toBe(Math.ceil((250_000 / 3_600_000) * (250 * 2 + 50)) + 2);
  });

  it("keeps the bound the next window needs through an exhausted one", async () => {
    const gate = await gateAfterOneAnswer(250);
    gate.observeAllowance(50, 49, 1000);
    gate.observeAllowance(50, 0, 200);
    expect(gate.capacity).toBe(30);
  });

  it("is capped, and a fixed concurrency is never resized", async () => {
    const unlimited = await gateAfterOneAnswer(250);
    unlimited.observeAllowance(1_000_000, 1_000_000, 1000);
    expect(unlimited.capacity).toBe(DEFAULT_MAX_IN_FLIGHT);
    const capped = await gateAfterOneAnswer(250, { max: 16 });
    capped.observeAllowance(1_000_000, 1_000_000, 1000);
    expect(capped.capacity).toBe(16);
    const fixed = await gateAfterOneAnswer(250, { fixed: 2 });
    fixed.observeAllowance(1_000_000, 1_000_000, 1000);
    expect([fixed.capacity, fixed.producers, fixed.ceiling]).toEqual([2, 2, 2]);
  });

  it("takes its ceiling from COHO_MAX_IN_FLIGHT, a whole number of at least 1", () => {
    expect(tuningFromEnv({ COHO_MAX_IN_FLIGHT: "600" })).toEqual({ maxInFlight: 600 });
    expect(tuningFromEnv({})).toEqual({});
    for (const bad of ["0", "-3", "1.5", "many"]) expect(() => tuningFromEnv({ COHO_MAX_IN_FLIGHT: bad })).toThrow(/COHO_MAX_IN_FLIGHT must be a whole number of at least 1/);
  });

  it("never lets more than the bound in, hands a freed slot to the next in line, and wakes waiters when it grows", async () => {
    const gate = new InFlightGate({ now: () => 0 });
    const order: number[] = [];
    for (let i = 0; i < INITIAL_IN_FLIGHT; i++) await gate.enter();
    const waiting = [0, 1, 2].map((i) => gate.enter().then(() => order.push(i)));
    await Promise.resolve();
    expect(order).toEqual([]);
    gate.release(100);
    await waiting[0];
    expect(order).toEqual([0]);
    // 100 ms an answer at 30/s: 3 needed; 30/s × (200 + 50 ms) + 2 = 10: room for both still waiting.
    gate.observeAllowance(30, 30, 1000);
    await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2]);
    expect(gate.capacity).toBe(10);
  });
});

describe("the rate limiter's view of the window", () => {
  const clock = () => {
    const state = { now: 10_000, waits: [] as number[] };
    const limiter = new RateLimiter(
      () => state.now,
      async (ms) => {
        state.waits.push(ms);
        state.now += ms;
      },
    );
    return { state, limiter };
  };
  const headers = (limit: number, remaining: number, reset: number) => ({ "x-ratelimit-limit": String(limit), "x-ratelimit-remaining": String(remaining), "x-ratelimit-reset": String(reset) });

  it("ignores a 429 from a window already over instead of restarting the window with a full allowance", async () => {
    const { state, limiter } = clock();
    const first = await limiter.acquire();
    limiter.observe(headers(2, 1, 11), first);
    limiter.settle(first);
    limiter.settle(await limiter.acquire()); // the window's last call
    state.now = 11_000;
    limiter.settle(await limiter.acquire()); // the next window's first
    limiter.exhaustedUntil(11_000); // a late 429 from the window that ended at 11 s
    limiter.settle(await limiter.acquire()); // its second and last
    expect(state.waits).toEqual([]);
    await limiter.acquire();
    expect(state.waits).toEqual([1000]);
  });

  it("subtracts what the server may not have counted: requests sent after, and unanswered ones sent before", async () => {
    const { limiter } = clock();
    const tickets = [];
    for (let i = 0; i < 4; i++) tickets.push(await limiter.acquire());
    // The third answers first: it saw 6 of 10 left; the fourth (sent after) and the
    // first two (unanswered, sent before) may not be in that count.
    limiter.observe(headers(10, 6, 11), tickets[2]);
    limiter.settle(tickets[2]);
    expect(limiter.allowance?.remaining).toBe(3);
  });

  it("holds back requests in flight at a window's start and gives them back once an answer from the new window counts them", async () => {
    const { state, limiter } = clock();
    const first = await limiter.acquire();
    limiter.observe(headers(10, 9, 11), first);
    limiter.settle(first);
    const late = [];
    for (let i = 0; i < 3; i++) late.push(await limiter.acquire()); // still on their way when the window turns
    state.now = 11_000;
    const next = await limiter.acquire();
    expect(limiter.allowance?.remaining).toBe(6); // a new window: 10, less the three on their way and this one
    // The late three counted in the old window after all: the server says 9 of 10 left.
    limiter.observe(headers(10, 9, 12), next);
    limiter.settle(next);
    expect(limiter.allowance?.remaining).toBe(6); // 9, less the three still unanswered
    for (const t of late) limiter.settle(t);
    const after = await limiter.acquire();
    limiter.observe(headers(10, 8, 12), after);
    expect(limiter.allowance?.remaining).toBe(8);
  });
});
