import { request } from "undici";
import { afterEach } from "vitest";
import { BrazeClient, type BrazeClientOptions } from "../../src/destinations/braze-cohorts/cohorts-client.js";
import type { BrazeEvent } from "../../src/destinations/shared/events.js";
import type { EmulatorOptions } from "../../src/emulator/options.js";
import type { LoggedRequest } from "../../src/emulator/request-log.js";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { Secret } from "../../src/model/secret.js";
import { AttributesClient } from "../../src/destinations/braze-attributes/attributes-client.js";
import type { ClientOptions } from "../../src/destinations/destination.js";
import type { DestinationEvent } from "../../src/destinations/shared/events.js";
import type { BrazeAttributesConfig } from "../../src/model/project.js";

/**
 * An emulator on a free loopback port. Its /users/export/ids window is 1 s, not
 * Braze's minute: an emulated 429 there names the window's end, which coho rightly
 * waits for, and with a minute-long window (aligned to the clock) a test drawing one
 * waited up to 60 s, a random share of the minute. Tests of that limit itself set
 * exportRateWindowMs (and exportRateLimit) explicitly.
 */
export function emulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, exportRateWindowMs: 1000, ...options });
}

/** A client for `emu`, recording its events. Retries are fast so tests stay quick. */
export function clientFor(emu: RunningEmulator, overrides: Partial<BrazeClientOptions> = {}): { client: BrazeClient; events: BrazeEvent[] } {
  const events: BrazeEvent[] = [];
  const client = new BrazeClient({
    endpoint: emu.url,
    partner: emu.credentials.partner,
    partnerApiKey: new Secret(emu.credentials.partnerApiKey, "BRAZE_PARTNER_API_KEY"),
    dataImportKey: new Secret(emu.credentials.dataImportKey, "BRAZE_DATA_IMPORT_KEY"),
    destination: "braze",
    retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 12 },
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  return { client, events };
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await request(url);
  return (await response.body.json()) as T;
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: { message?: string }; headers: Record<string, unknown> }> {
  const response = await request(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  return { status: response.statusCode, body: (await response.body.json()) as { message?: string }, headers: response.headers };
}

export async function members(emu: RunningEmulator, cohortId: string): Promise<string[]> {
  return (await getJson<{ members: string[] }>(`${emu.url}/_emulator/cohorts/${encodeURIComponent(cohortId)}/members`)).members;
}

export async function requestLog(emu: RunningEmulator): Promise<LoggedRequest[]> {
  return (await getJson<{ requests: LoggedRequest[] }>(`${emu.url}/_emulator/requests`)).requests;
}

/** n member keys of mixed kinds: external ids, aliases and devices. */
export function mixedKeys(n: number, prefix = "m"): string[] {
  return Array.from({ length: n }, (_, i) => {
    switch (i % 3) {
      case 0:
        return `external_id:${prefix}${i}`;
      case 1:
        return `alias:email:${prefix}${i}@example.com`;
      default:
        return `device_id:${prefix}-device-${i}`;
    }
  });
}

/**
 * For a test file: `const start = emulators();` gives a starter whose emulators
 * are all closed after each test.
 */
export function emulators(): (options?: EmulatorOptions) => Promise<RunningEmulator> {
  let running: RunningEmulator[] = [];
  afterEach(async () => {
    await Promise.all(running.map((e) => e.close()));
    running = [];
  });
  return async (options = {}) => {
    const emu = await emulator(options);
    running.push(emu);
    return emu;
  };
}

/** A /users/track client for `emu` (destination `braze`), recording its events. Retries are fast. */
export function attributesClientFor(
  emu: RunningEmulator,
  overrides: Partial<Omit<BrazeAttributesConfig, "type">> = {},
  options: Partial<ClientOptions> = {},
): { client: AttributesClient; events: DestinationEvent[] } {
  const events: DestinationEvent[] = [];
  const config: BrazeAttributesConfig = {
    type: "braze_attributes",
    name: "braze",
    restEndpoint: emu.url,
    allowUnknownEndpoint: false,
    origin: { file: "coho.yaml", line: 1, column: 1 },
    apiKey: new Secret(emu.credentials.restApiKey, "BRAZE_REST_API_KEY"),
    batchSize: 75,
    updateExistingOnly: true,
    rateLimit: { requests: 3000, windowSeconds: 3 },
    maxArrayValues: 500,
    missingProfiles: "ignore",
    ...overrides,
  } as BrazeAttributesConfig;
  const client = new AttributesClient(config, { retry: { baseDelayMs: 5, maxDelayMs: 50, maxAttempts: 12 }, onEvent: (e) => events.push(e), ...options });
  return { client, events };
}

/** One user's custom attributes in the emulator (`exists` false once deleted). */
export async function userAttributes(emu: RunningEmulator, key: string): Promise<{ exists: boolean; custom_attributes: Record<string, unknown> }> {
  return getJson(`${emu.url}/_emulator/users/${encodeURIComponent(key)}`);
}

/** n member keys the /users/track road can address: external ids and aliases. */
export function userKeys(n: number, prefix = "u"): string[] {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? `external_id:${prefix}${i}` : `alias:email:${prefix}${i}@example.com`));
}

/** The attribute names an attributes object writes: everything but its identifier and `_update_existing_only`. */
export function attributeFields(object: Record<string, unknown>): string[] {
  return Object.keys(object).filter((k) => !["external_id", "user_alias", "braze_id", "email", "phone", "_update_existing_only"].includes(k));
}
