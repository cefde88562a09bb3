import { request } from "undici";
import { afterEach } from "vitest";
import { BrazeClient, type BrazeClientOptions } from "../../src/destinations/braze-cohorts/cohorts-client.js";
import type { BrazeEvent } from "../../src/destinations/shared/events.js";
import type { EmulatorOptions } from "../../src/emulator/options.js";
import type { LoggedRequest } from "../../src/emulator/request-log.js";
import { startEmulator, type RunningEmulator } from "../../src/emulator/server.js";
import { Secret } from "../../src/model/secret.js";

/** An emulator on a free loopback port. */
export function emulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, ...options });
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
