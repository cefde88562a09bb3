import type { FaultKind } from "./faults.js";
import type { WorkspaceUser } from "./workspace.js";

/** Credentials the emulator accepts unless told otherwise (also in quickstart's .env). */
export const EMULATOR_DEFAULTS = {
  host: "127.0.0.1",
  port: 4010,
  partner: "coho-emulator",
  partnerApiKey: "emulator-partner-key",
  dataImportKey: "emulator-data-import-key",
  restApiKey: "emulator-rest-api-key",
  restApiKeyNoPermission: "emulator-rest-key-without-permissions",
} as const;

export interface EmulatorOptions {
  /** Default 127.0.0.1: the emulator is for this machine only. */
  readonly host?: string;
  /** 0 picks a free port. Default 4010. */
  readonly port?: number;
  readonly partner?: string;
  readonly partnerApiKey?: string;
  readonly dataImportKey?: string;
  /** The REST API key /users/track and /users/export/ids accept (with users.track and users.export.ids). */
  readonly restApiKey?: string;
  /** /users/track objects per request: 75 (legacy contracts, the default) or 50 (MAU contracts); more is a 400. */
  readonly usersTrackBatchLimit?: number;
  /** Values an array attribute holds before the oldest is dropped. Default 500. */
  readonly arrayCap?: number;
  /** /users/export/ids requests per minute; 0 = no limit (Braze: 250 on new workspaces). */
  readonly exportRateLimit?: number;
  /**
   * Window of that limit, ms. Default 60,000 (Braze's per-minute limit, what the
   * emulator always answers). A test hook: a 429 on /users/export/ids names the
   * window's end (x-ratelimit-reset), which the client waits for, so tests that
   * draw emulated 429s there shorten the window instead of waiting up to a minute.
   */
  readonly exportRateWindowMs?: number;
  /** The workspace's users; without them every identifier is a known user. */
  readonly users?: readonly WorkspaceUser[];
  /** Persist cohorts and members here between runs. */
  readonly statePath?: string;
  /** Requests allowed per window; 0 = no limit. */
  readonly rateLimit?: number;
  /** Window of the rate limit, in ms (at least 1000). Default 1000. */
  readonly rateWindowMs?: number;
  /** Share of requests that get a fault, 0 to 1. */
  readonly faultRate?: number;
  readonly faultKinds?: readonly FaultKind[];
  readonly seed?: number;
  /** Seconds a 429 answer asks the client to wait, as a `Retry-After` header; 0 (the default) sends none. */
  readonly retryAfterSeconds?: number;
  /** How long a "slow" fault holds its answer, ms. Default 3000. */
  readonly latencyMs?: number;
  /** How long every Braze request takes to answer (network and processing), ms. Default 0. */
  readonly responseTimeMs?: number;
  /** Answer every partner request with 423 Resource locked. */
  readonly locked?: boolean;
  /** Requests kept for /_emulator/requests. Default 100,000. */
  readonly logCapacity?: number;
  /**
   * Of those, how many newest keep their bodies (`cohort_changes`, `attributes`);
   * older entries keep only method, path, status and counts. Default: all of them; at least 1.
   * A long benchmark sets it low: a million retained bodies make every GC slower.
   */
  readonly logBodyCapacity?: number;
}

/** What can be changed while running, through POST /_emulator/config. */
export interface RuntimeSettings {
  faultRate: number;
  faultKinds: readonly FaultKind[];
  seed: number;
  rateLimit: number;
  latencyMs: number;
  locked: boolean;
  retryAfterSeconds: number;
}
