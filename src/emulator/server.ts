import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FAULT_KINDS, FaultPlan } from "./faults.js";
import { handleInspection } from "./inspection.js";
import { EMULATOR_DEFAULTS, type EmulatorOptions, type RuntimeSettings } from "./options.js";
import { handlePartnerRequest, matchPartnerPath, type Credentials } from "./partner-api.js";
import { authorize, handleExportIds, handleUsersTrack, type RestCredentials } from "./users-api.js";
import { loadEmulatorState, saveEmulatorState } from "./persist.js";
import { RateWindow } from "./rate-window.js";
import { RequestLog } from "./request-log.js";
import { Workspace } from "./workspace.js";

/** Bodies above this are refused (413); Braze's own cap is not documented. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface RunningEmulator {
  /** Base URL to put in a destination's rest_endpoint. */
  readonly url: string;
  readonly port: number;
  readonly credentials: Credentials & RestCredentials;
  readonly workspace: Workspace;
  readonly log: RequestLog;
  readonly settings: RuntimeSettings;
  /** Stops accepting requests, ends open connections, writes state. */
  close(): Promise<void>;
}

/** Starts a local Braze Cohort Import emulator. Usable in-process from tests. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const credentials: Credentials & RestCredentials = {
    partner: options.partner ?? EMULATOR_DEFAULTS.partner,
    partnerApiKey: options.partnerApiKey ?? EMULATOR_DEFAULTS.partnerApiKey,
    dataImportKey: options.dataImportKey ?? EMULATOR_DEFAULTS.dataImportKey,
    restApiKey: options.restApiKey ?? EMULATOR_DEFAULTS.restApiKey,
    restApiKeyNoPermission: EMULATOR_DEFAULTS.restApiKeyNoPermission,
  };
  const workspace = new Workspace(options.users, options.arrayCap ?? 500);
  const batchLimit = options.usersTrackBatchLimit ?? 75;
  const exportRate = new RateWindow(options.exportRateLimit ?? 0, Math.max(1000, options.exportRateWindowMs ?? 60_000));
  if (options.statePath) loadEmulatorState(options.statePath, workspace);
  const settings: RuntimeSettings = {
    faultRate: options.faultRate ?? 0,
    faultKinds: options.faultKinds ?? FAULT_KINDS,
    seed: options.seed ?? 1,
    rateLimit: options.rateLimit ?? 0,
    latencyMs: options.latencyMs ?? 3000,
    locked: options.locked ?? false,
    retryAfterSeconds: options.retryAfterSeconds ?? 0,
  };
  const log = new RequestLog(options.logCapacity ?? 100_000, options.logBodyCapacity);
  const responseTimeMs = Math.max(0, options.responseTimeMs ?? 0);
  const rate = new RateWindow(settings.rateLimit, Math.max(1000, options.rateWindowMs ?? 1000));
  let faults = new FaultPlan(settings.faultRate, settings.seed, settings.faultKinds);
  const persist = options.statePath ? debouncedSave(options.statePath, workspace) : undefined;

  const applySettings = (changes: Partial<RuntimeSettings>): void => {
    Object.assign(settings, changes);
    rate.limit = settings.rateLimit;
    faults = new FaultPlan(settings.faultRate, settings.seed, settings.faultKinds);
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    void route(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { message: "Internal emulator error" });
    });
  });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://emulator");
    const body = await readBody(req);
    if (url.pathname.startsWith("/_emulator/")) {
      handleInspection({ req, res, url, body, workspace, log, settings, applySettings, persist: () => persist?.now() });
      return;
    }
    const match = matchPartnerPath(url.pathname);
    const usersPath = url.pathname === "/users/track" || url.pathname === "/users/export/ids" ? url.pathname : undefined;
    if ((!match && !usersPath) || req.method !== "POST") {
      send(res, 404, { message: "Not found" });
      return;
    }
    const entry = log.add({ at: new Date().toISOString(), method: req.method, path: url.pathname, status: 0, processed: false });
    res.once("close", log.enter());
    // /users/export/ids has its own, much lower limit; everything else shares the workspace's.
    const exporting = usersPath === "/users/export/ids";
    const window = exporting ? exportRate.take() : rate.take();
    const limit = exporting ? exportRate.limit : settings.rateLimit;
    res.setHeader("x-ratelimit-limit", String(limit > 0 ? limit : 1_000_000));
    res.setHeader("x-ratelimit-remaining", String(window.remaining));
    res.setHeader("x-ratelimit-reset", String(window.reset));
    // Counted on arrival, answered later: as a distant Braze, the client learns the window's state one round trip late.
    if (responseTimeMs > 0) await sleep(responseTimeMs);
    const answer = (status: number, message: string, body: Record<string, unknown> = { message }) => {
      if (status === 429 && settings.retryAfterSeconds > 0) res.setHeader("retry-after", String(settings.retryAfterSeconds));
      entry.status = status;
      entry.message = message;
      send(res, status, body);
    };
    if (!window.allowed) return answer(429, "Rate limit exceeded");

    const fault = faults.next();
    if (fault) entry.fault = fault;
    if (fault === "drop_before") return drop(req, entry);
    if (fault && /^5\d\d$/.test(fault)) return answer(Number(fault), "Internal server error (emulated fault)");
    if (fault === "429") return answer(429, "Rate limit exceeded (emulated fault)");
    if (settings.locked) return answer(423, "Resource locked");

    let parsed: unknown;
    try {
      parsed = body === undefined ? undefined : JSON.parse(body.toString("utf8"));
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return answer(body === undefined ? 413 : 400, body === undefined ? "Request body too large" : "Request body must be a JSON object");
    }
    const result = usersPath
      ? usersRequest(usersPath, req.headers.authorization, parsed as Record<string, unknown>)
      : handlePartnerRequest(workspace, credentials, match!.partner, match!.endpoint, parsed as Record<string, unknown>);
    Object.assign(entry, result.details);
    entry.processed = result.changed;
    if (result.changed) persist?.soon();
    if (fault === "drop_after") return drop(req, entry);
    if (fault === "slow") await sleep(settings.latencyMs);
    answer(result.status, result.message, "body" in result ? result.body : { message: result.message });
  };

  const usersRequest = (path: string, authorization: string | undefined, body: Record<string, unknown>) => {
    const exporting = path === "/users/export/ids";
    const refused = authorize(authorization, credentials, exporting ? "users.export.ids" : "users.track");
    const result = refused ?? (exporting ? handleExportIds(workspace, body) : handleUsersTrack(workspace, body, batchLimit));
    return { ...result, message: String(result.body.message ?? "") };
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? EMULATOR_DEFAULTS.port, options.host ?? EMULATOR_DEFAULTS.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    credentials,
    workspace,
    log,
    settings,
    close: () => closeServer(server, () => persist?.now()),
  };
}

function drop(req: IncomingMessage, entry: { status: number | "dropped" }): void {
  entry.status = "dropped";
  req.socket.destroy();
}

function send(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** The whole body, or undefined when it exceeds MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even when too large, so the keep-alive connection stays usable.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Saves at most every 200 ms while busy, and at once on close. */
function debouncedSave(path: string, workspace: Workspace): { soon(): void; now(): void } {
  let timer: NodeJS.Timeout | undefined;
  const now = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    saveEmulatorState(path, workspace);
  };
  return {
    soon: () => {
      timer ??= setTimeout(now, 200);
    },
    now,
  };
}

function closeServer(server: Server, flush: () => void): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      flush();
      resolve();
    });
    server.closeAllConnections();
  });
}
