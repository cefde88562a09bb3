import { describe, expect, it } from "vitest";
import { BrazeApiError } from "../../src/destinations/shared/destination-error.js";
import { Secret } from "../../src/model/secret.js";
import { attributesClientFor, emulators, postJson, requestLog, userAttributes, userKeys } from "../helpers/emulator.js";

const start = emulators();
const VIP = { cohortId: "c-vip", target: "boolean:coho_vip:false" };

describe("/users/track membership", () => {
  it.each([
    [0, 75],
    [1, 75],
    [75, 75],
    [76, 75],
    [230, 75],
    [101, 50],
  ])("%i changed users take exactly ceil(n / %i) requests, one object per user", async (n, batchSize) => {
    const emu = await start({ usersTrackBatchLimit: batchSize });
    const { client } = attributesClientFor(emu, { batchSize });
    const removes = userKeys(Math.floor(n / 3), "old");
    const adds = userKeys(n - removes.length, "new");
    const result = await client.syncMembership(VIP, adds, removes);
    await client.close();
    const sent = await requestLog(emu);
    expect(result.requests).toBe(Math.ceil(n / batchSize));
    expect(sent).toHaveLength(Math.ceil(n / batchSize));
    for (const request of sent) {
      expect(request.status).toBe(201);
      expect((request.attributes as unknown[]).length).toBeLessThanOrEqual(batchSize);
    }
    expect(sent.reduce((total, r) => total + (r.attributes as unknown[]).length, 0)).toBe(n);
    if (adds[0]) expect((await userAttributes(emu, adds[0])).custom_attributes).toEqual({ coho_vip: true });
    if (removes[0]) expect((await userAttributes(emu, removes[0])).custom_attributes).toEqual({ coho_vip: false });
  });

  it("sends Braze's shapes: identifier, _update_existing_only, boolean or array add/remove", async () => {
    const emu = await start();
    const { client } = attributesClientFor(emu);
    await client.resend({ cohortId: "c", target: "array:coho_cohorts:vip" }, { add: ["external_id:u1", "alias:email:a@b.c"], remove: ["external_id:u2"] });
    await client.resend({ cohortId: "c", target: "boolean:coho_new:unset" }, { add: ["external_id:u3"], remove: ["external_id:u1"] });
    await client.close();
    const [first, second] = await requestLog(emu);
    expect(first?.attributes).toEqual([
      { external_id: "u1", _update_existing_only: true, coho_cohorts: { add: ["vip"] } },
      { user_alias: { alias_name: "a@b.c", alias_label: "email" }, _update_existing_only: true, coho_cohorts: { add: ["vip"] } },
      { external_id: "u2", _update_existing_only: true, coho_cohorts: { remove: ["vip"] } },
    ]);
    expect(second?.attributes).toEqual([
      { external_id: "u3", _update_existing_only: true, coho_new: true },
      { external_id: "u1", _update_existing_only: true, coho_new: null },
    ]);
    expect((await userAttributes(emu, "external_id:u1")).custom_attributes).toEqual({ coho_cohorts: ["vip"] });
  });

  it("reports members Braze refused by index and acknowledges the rest", async () => {
    const emu = await start();
    await postJson(`${emu.url}/_emulator/refuse`, { keys: ["external_id:new2", "external_id:old0"] });
    const { client } = attributesClientFor(emu);
    const refusedSeen: string[] = [];
    const acked: string[] = [];
    const adds = userKeys(80, "new");
    const removes = ["external_id:old0"];
    await client.syncMembership(VIP, adds, removes, {
      acknowledged: (batch, refused) => {
        refusedSeen.push(...refused.map((r) => `${r.key} ${r.message}`));
        const keys = new Set(refused.map((r) => r.key));
        acked.push(...[...batch.add, ...batch.remove].filter((k) => !keys.has(k)));
      },
    });
    await client.close();
    expect(refusedSeen.sort()).toEqual([
      "external_id:new2 Invalid attribute value (refused by the emulator)",
      "external_id:old0 Invalid attribute value (refused by the emulator)",
    ]);
    expect(acked).toHaveLength(79);
    expect((await userAttributes(emu, "external_id:new2")).custom_attributes).toEqual({});
    expect((await userAttributes(emu, "external_id:new4")).custom_attributes).toEqual({ coho_vip: true });
  });

  it("converges under 30% faults (429, 5xx, drops, timeouts)", async () => {
    const emu = await start({ faultRate: 0.3, seed: 11, latencyMs: 300 });
    const { client, events } = attributesClientFor(emu, {}, { timeoutMs: 150 });
    const adds = userKeys(600, "f");
    const result = await client.syncMembership({ cohortId: "f", target: "array:coho_cohorts:faulty" }, adds, []);
    await client.close();
    expect(result.requests).toBe(8);
    for (const key of adds) expect((await userAttributes(emu, key)).custom_attributes).toEqual({ coho_cohorts: ["faulty"] });
    expect(events.some((e) => e.type === "retry")).toBe(true);
  });
});

describe("refusals of the whole request are surfaced, never retried", () => {
  it("401: names api_key and its environment variable, once, without the key", async () => {
    const emu = await start();
    const { client } = attributesClientFor(emu, { apiKey: new Secret("wrong-rest-key-value", "MY_REST_KEY") });
    const error = (await client.resend(VIP, { add: ["external_id:u1"], remove: [] }).catch((e: unknown) => e)) as BrazeApiError;
    await client.close();
    expect(error).toBeInstanceOf(BrazeApiError);
    expect(error.status).toBe(401);
    expect(error.hint).toContain("destinations.braze.api_key (environment variable MY_REST_KEY)");
    expect(emu.log.total).toBe(1);
    expect(JSON.stringify({ m: error.message, h: error.hint, s: error.stack })).not.toContain("wrong-rest-key-value");
  });

  it("403: names the users.track permission", async () => {
    const emu = await start();
    const { client } = attributesClientFor(emu, { apiKey: new Secret(emu.credentials.restApiKeyNoPermission, "MY_REST_KEY") });
    const error = (await client.resend(VIP, { add: ["external_id:u1"], remove: [] }).catch((e: unknown) => e)) as BrazeApiError;
    await client.close();
    expect(error.status).toBe(403);
    expect(error.hint).toContain("users.track");
    expect(error.hint).toContain("MY_REST_KEY");
    expect(emu.log.total).toBe(1);
  });

  it("400 beyond the account's batch limit (50 on MAU contracts)", async () => {
    const emu = await start({ usersTrackBatchLimit: 50 });
    const { client } = attributesClientFor(emu, { batchSize: 75 });
    const error = (await client.syncMembership(VIP, userKeys(75), []).catch((e: unknown) => e)) as BrazeApiError;
    await client.close();
    expect(error.status).toBe(400);
    expect(emu.log.total).toBe(1);
  });
});

describe("probe and read-back", () => {
  it("probe: ok with a good key, and says what is wrong otherwise; changes nothing", async () => {
    const emu = await start();
    const good = attributesClientFor(emu).client;
    const bad = attributesClientFor(emu, { apiKey: new Secret("nope", "MY_REST_KEY") }).client;
    const forbidden = attributesClientFor(emu, { apiKey: new Secret(emu.credentials.restApiKeyNoPermission, "MY_REST_KEY") }).client;
    expect((await good.probe()).ok).toBe(true);
    const refused = await bad.probe();
    expect(refused.ok).toBe(false);
    expect(refused.hint).toContain("MY_REST_KEY");
    expect((await forbidden.probe()).hint).toContain("users.track");
    await Promise.all([good.close(), bad.close(), forbidden.close()]);
    expect((await requestLog(emu)).every((r) => !r.processed)).toBe(true);
  });

  it("reads the attribute back, 50 ids per request; a deleted user is absent", async () => {
    const emu = await start();
    const { client } = attributesClientFor(emu);
    const keys = userKeys(120, "r");
    await client.syncMembership(VIP, keys, []);
    await postJson(`${emu.url}/_emulator/users/${encodeURIComponent(keys[0]!)}`, { custom_attributes: { coho_vip: false } });
    await fetch(`${emu.url}/_emulator/users/${encodeURIComponent(keys[1]!)}`, { method: "DELETE" });
    const before = emu.log.total;
    const values = await client.readBack!(VIP, keys);
    await client.close();
    const exports = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(exports).toHaveLength(3);
    expect(exports.every((r) => r.path === "/users/export/ids" && (r.identifiers ?? 0) <= 50)).toBe(true);
    expect(values.get(keys[0]!)).toEqual({ kind: "value", value: false });
    expect(values.get(keys[1]!)).toEqual({ kind: "absent" });
    expect(values.get(keys[2]!)).toEqual({ kind: "value", value: true });
    expect([...values.values()].filter((v) => v.kind === "value" && v.value === true)).toHaveLength(118);
  });
});
