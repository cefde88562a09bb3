import { describe, expect, it } from "vitest";
import type { DestinationEvent } from "../../src/destinations/shared/events.js";
import { INITIAL_IN_FLIGHT } from "../../src/destinations/shared/in-flight-gate.js";
import { clientFor, emulators, members, mixedKeys, requestLog } from "../helpers/emulator.js";

const start = emulators();

/** The most requests that were out at once, from the client's own events. */
function peakInFlight(events: readonly DestinationEvent[]): number {
  let out = 0;
  let peak = 0;
  for (const e of events) {
    if (e.type === "request") peak = Math.max(peak, ++out);
    else if (e.type === "acknowledged" || e.type === "retry" || e.type === "failed") out--;
  }
  return peak;
}

describe("requests in flight against a distant, rate-limited Braze (emulator, real sockets)", () => {
  it("sizes itself past the initial bound from the rate limit and the answer time, without 429s and with exactly ceil(n / 1,000) requests", async () => {
    // 40/s, each answer 200 ms away: 8 needed in flight (×2 + 2 = 18), far more than the initial 4.
    const emu = await start({ rateLimit: 40, rateWindowMs: 1000, responseTimeMs: 200 });
    const { client, events } = clientFor(emu);
    emu.workspace.upsertCohort("s", "Sized", "2026-01-01T00:00:00Z");
    const adds = mixedKeys(60_000);
    const result = await client.syncMembership("s", adds, []);
    await client.close();
    expect(result.requests).toBe(60);
    const log = await requestLog(emu);
    expect(log.filter((r) => r.status === 200)).toHaveLength(60);
    expect(log.filter((r) => r.status === 429).length).toBeLessThanOrEqual(1);
    expect(peakInFlight(events)).toBeGreaterThan(INITIAL_IN_FLIGHT);
    expect(peakInFlight(events)).toBeLessThanOrEqual(40);
    expect(await members(emu, "s")).toEqual([...adds].sort());
  });

  it("never sizes past the ceiling it is given (COHO_MAX_IN_FLIGHT), and still sends every batch", async () => {
    // No rate limit: the sizing asks for far more than 3 in flight.
    const emu = await start({ responseTimeMs: 50 });
    const { client, events } = clientFor(emu, { maxConcurrency: 3 });
    emu.workspace.upsertCohort("c", "Capped", "2026-01-01T00:00:00Z");
    const adds = mixedKeys(20_000);
    const result = await client.syncMembership("c", adds, []);
    await client.close();
    expect(result.requests).toBe(20);
    expect(peakInFlight(events)).toBe(3);
    expect(await members(emu, "c")).toEqual([...adds].sort());
  });

  it("keeps a fixed COHO_CONCURRENCY exactly", async () => {
    const emu = await start({ responseTimeMs: 50 });
    const { client, events } = clientFor(emu, { concurrency: 2 });
    emu.workspace.upsertCohort("f", "Fixed", "2026-01-01T00:00:00Z");
    const result = await client.syncMembership("f", mixedKeys(8_000), []);
    await client.close();
    expect(result.requests).toBe(8);
    expect(peakInFlight(events)).toBe(2);
  });
});
