import { describe, expect, it } from "vitest";
import { BrazeApiError } from "../../src/destinations/shared/destination-error.js";
import { parseMemberKey } from "../../src/model/member-key.js";
import type { FaultKind } from "../../src/emulator/faults.js";
import { clientFor, emulators, members, mixedKeys, postJson, requestLog } from "../helpers/emulator.js";

const start = emulators();

const SECRETS = ["emulator-partner-key", "emulator-data-import-key"];

describe("membership requests", () => {
  it.each([0, 1, 999, 1000, 1001, 2500])("%i identifiers take exactly ceil(n / 1000) requests of at most 1,000", async (n) => {
    const emu = await start();
    const { client } = clientFor(emu);
    // Start from a cohort holding the keys to remove, so removals are real changes.
    const removes = mixedKeys(Math.floor(n / 3), "old");
    const adds = mixedKeys(n - removes.length, "new");
    await client.upsertCohort({ cohortId: "c1", name: "Cohort one", createdAt: new Date() });
    for (const key of removes) emu.workspace.cohorts.get("c1")!.members.add(parseMemberKey(key)!);
    const before = emu.log.total;

    const result = await client.syncMembership("c1", adds, removes);
    await client.close();

    const expected = Math.ceil(n / 1000);
    const sent = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(result.requests).toBe(expected);
    expect(sent).toHaveLength(expected);
    for (const request of sent) {
      expect(request.status).toBe(200);
      expect(request.identifiers).toBeLessThanOrEqual(1000);
      expect((request.cohort_changes as unknown[]).length).toBeLessThanOrEqual(2);
    }
    expect(sent.reduce((sum, r) => sum + (r.identifiers ?? 0), 0)).toBe(n);
    expect(await members(emu, "c1")).toEqual([...adds].sort());
  });

  it("sends aliases and devices in Braze's shapes, removals with should_remove", async () => {
    const emu = await start();
    const { client } = clientFor(emu);
    emu.workspace.upsertCohort("c2", "Two", "2026-01-01T00:00:00Z");
    emu.workspace.cohorts.get("c2")!.members.add({ kind: "external_id", id: "gone" });
    await client.sendBatch("c2", { add: ["external_id:u1", "alias:email:a@b.c", "device_id:d1"], remove: ["external_id:gone"] });
    const [request] = await requestLog(emu);
    expect(request?.cohort_changes).toEqual([
      { user_ids: ["u1"], device_ids: ["d1"], aliases: [{ alias_name: "a@b.c", alias_label: "email" }] },
      { user_ids: ["gone"], should_remove: true },
    ]);
    await client.close();
  });
});

describe("faults are retried until the membership converges", () => {
  const kinds: FaultKind[] = ["500", "502", "503", "504", "429", "drop_before", "drop_after", "slow"];

  it.each(kinds)("%s", async (kind) => {
    const emu = await start({ faultRate: 0.4, faultKinds: [kind], seed: 42, latencyMs: 400 });
    const { client, events } = clientFor(emu, { timeoutMs: kind === "slow" ? 150 : 5000 });
    await client.upsertCohort({ cohortId: "f", name: "Faulty", createdAt: new Date() });
    const adds = mixedKeys(6000);
    const result = await client.syncMembership("f", adds, []);
    await client.close();
    expect(result.requests).toBe(6);
    expect(await members(emu, "f")).toEqual([...adds].sort());
    const faulted = (await requestLog(emu)).filter((r) => r.fault === kind);
    expect(faulted.length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === "retry").length).toBeGreaterThanOrEqual(faulted.length);
  });

  it("re-sends a batch whose answer was lost after Braze processed it, harmlessly", async () => {
    const emu = await start({ faultRate: 0.5, faultKinds: ["drop_after"], seed: 7 });
    const { client } = clientFor(emu);
    const adds = mixedKeys(3000);
    emu.workspace.upsertCohort("lost", "Lost answers", "2026-01-01T00:00:00Z");
    await client.syncMembership("lost", adds, []);
    const log = await requestLog(emu);
    const processedThenDropped = log.filter((r) => r.fault === "drop_after" && r.processed);
    expect(processedThenDropped.length).toBeGreaterThan(0);
    // The same identifiers were applied twice; the result is still exactly the set.
    expect(await members(emu, "lost")).toEqual([...adds].sort());
    await client.close();
  });
});

describe("rate limits", () => {
  it("after a 429, waits for the window's reset before trying again", async () => {
    const emu = await start({ rateLimit: 3, rateWindowMs: 1000 });
    // Exhaust the current window from outside the client.
    let reset = 0;
    for (;;) {
      const r = await postJson(`${emu.url}/partners/coho-emulator/cohorts`, {});
      reset = Number(r.headers["x-ratelimit-reset"]);
      if (r.status === 429) break;
    }
    const { client } = clientFor(emu);
    const before = emu.log.total;
    await client.upsertCohort({ cohortId: "r", name: "Rate", createdAt: new Date() });
    const attempts = (await requestLog(emu)).filter((r) => r.seq > before);
    const firstOk = attempts.find((r) => r.status === 201);
    expect(firstOk).toBeDefined();
    // Refused attempts fell in the exhausted window; the accepted one only after its reset.
    for (const attempt of attempts.filter((r) => r.status === 429)) expect(Date.parse(attempt.at)).toBeLessThan(reset * 1000);
    expect(Date.parse(firstOk!.at)).toBeGreaterThanOrEqual(reset * 1000);
    await client.close();
  });

  it("paces itself by the x-ratelimit headers instead of collecting 429s", async () => {
    const emu = await start({ rateLimit: 10, rateWindowMs: 1000 });
    const { client, events } = clientFor(emu, { concurrency: 4 });
    emu.workspace.upsertCohort("p", "Paced", "2026-01-01T00:00:00Z");
    const result = await client.syncMembership("p", mixedKeys(30_000), []);
    await client.close();
    expect(result.requests).toBe(30);
    const refused = (await requestLog(emu)).filter((r) => r.status === 429).length;
    expect(refused).toBeLessThanOrEqual(1);
    expect(events.some((e) => e.type === "throttled")).toBe(true);
  });

  it("answers every partner request with lower-case x-ratelimit headers", async () => {
    const emu = await start({ rateLimit: 100 });
    const r = await postJson(`${emu.url}/partners/coho-emulator/cohorts`, {});
    expect(r.headers["x-ratelimit-limit"]).toBe("100");
    expect(r.headers["x-ratelimit-remaining"]).toBe("99");
    expect(Number(r.headers["x-ratelimit-reset"])).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
  });
});

describe("refusals are surfaced, not retried", () => {
  it("401 for a wrong partner key, with a hint naming the config key and variable", async () => {
    const emu = await start();
    const { client, events } = clientFor(emu, { partnerApiKey: new (await import("../../src/model/secret.js")).Secret("wrong-key-value", "MY_PARTNER_KEY") });
    const error = await client.upsertCohort({ cohortId: "x", name: "X", createdAt: new Date() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrazeApiError);
    const e = error as BrazeApiError;
    expect(e.status).toBe(401);
    expect(e.message).toContain("Invalid Partner API key");
    expect(e.hint).toContain("destinations.braze.partner_api_key (environment variable MY_PARTNER_KEY)");
    expect(emu.log.total).toBe(1);
    expect(events.filter((ev) => ev.type === "retry")).toEqual([]);
    await client.close();
  });

  it("401 for a wrong data import key names data_import_key", async () => {
    const emu = await start();
    const { Secret } = await import("../../src/model/secret.js");
    const { client } = clientFor(emu, { dataImportKey: new Secret("not-the-key", "MY_IMPORT_KEY") });
    const error = (await client.sendBatch("x", { add: ["external_id:1"], remove: [] }).catch((e: unknown) => e)) as BrazeApiError;
    expect(error.status).toBe(401);
    expect(error.message).toContain("Invalid client secret");
    expect(error.hint).toContain("destinations.braze.data_import_key (environment variable MY_IMPORT_KEY)");
    expect(emu.log.total).toBe(1);
    await client.close();
  });

  it("400 for an empty name, once", async () => {
    const emu = await start();
    const { client } = clientFor(emu);
    const error = (await client.upsertCohort({ cohortId: "x", name: " ", createdAt: new Date() }).catch((e: unknown) => e)) as BrazeApiError;
    expect(error.status).toBe(400);
    expect(error.brazeMessage).toBe("`name` must be a non-empty string");
    expect(emu.log.total).toBe(1);
    await client.close();
  });

  it("never lets a credential into errors or events, even when Braze echoes it", async () => {
    const emu = await start();
    const { client, events } = clientFor(emu, { partner: "not-enabled" });
    const error = (await client.upsertCohort({ cohortId: "x", name: "X", createdAt: new Date() }).catch((e: unknown) => e)) as BrazeApiError;
    expect(error.status).toBe(401);
    expect(error.brazeMessage).toBe("Partner not enabled for client with client secret: ***");
    const printed = JSON.stringify({ message: error.message, hint: error.hint, stack: error.stack, events });
    for (const secret of SECRETS) expect(printed).not.toContain(secret);
    await client.close();
  });

  it("gives up after the attempt cap, naming the last problem", async () => {
    const emu = await start({ locked: true });
    const { client } = clientFor(emu, { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    const error = (await client.upsertCohort({ cohortId: "x", name: "X", createdAt: new Date() }).catch((e: unknown) => e)) as BrazeApiError;
    expect(error.status).toBe(423);
    expect(error.brazeMessage).toBe("Resource locked");
    expect(emu.log.total).toBe(3);
    await client.close();
  });
});
