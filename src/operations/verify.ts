import type { ReadBackValue } from "../destinations/destination.js";
import { DestinationClients } from "../destinations/clients.js";
import { driftOf, type DriftReason } from "../destinations/roads.js";
import { CohoError } from "../model/errors.js";
import type { DestinationConfig, Project } from "../model/project.js";
import type { CohortState } from "../model/state.js";
import { openSession } from "../plan/session.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { StateBackend } from "../state/backend.js";
import { expectedSnapshot } from "../state/snapshot-record.js";

export interface VerifyRequest {
  readonly project: Project;
  /** Cohort addresses to check; empty: every recorded cohort. */
  readonly addresses?: readonly string[];
  /** Recorded members read back per cohort (default 200). */
  readonly sample?: number;
  /** Member keys of drifted members to include per cohort (PII; default 0). */
  readonly showMembers?: number;
  readonly memoryLimit?: string;
}

export interface VerifyCohort {
  readonly address: string;
  readonly destination: string;
  /** checked: read back. unsupported: the road offers no read-back. */
  readonly status: "checked" | "unsupported";
  readonly message: string;
  readonly members: number;
  readonly sampled: number;
  readonly drifted: number;
  /**
   * Drifted members by reason: the value changed, Braze has no profile for the
   * user (absent), or the value was evicted from a full array. `deleted` is the
   * 1.0 name of `absent`, kept with the same count.
   */
  readonly reasons: Readonly<Record<DriftReason | "deleted", number>>;
  /** What an absent member means here: confirmed once and gone since (missing_profiles: wait), or maybe never created. */
  readonly absent_means?: string;
  readonly samples?: readonly string[];
}

/** `coho verify --json` (format coho-verify 1.0; schema/coho-verify.schema.json). */
export interface VerifyReport {
  readonly format: "coho-verify";
  readonly format_version: "1.1";
  readonly drift: boolean;
  readonly cohorts: readonly VerifyCohort[];
}

/**
 * Drift read-back: reads a random sample of each cohort's recorded members back
 * from Braze and reports members whose attribute no longer says what coho wrote.
 * Reads state and Braze only: it never writes either (so it takes no lock).
 */
export async function verify(request: VerifyRequest): Promise<VerifyReport> {
  const session = await openSession(request.project, request.memoryLimit ? { memoryLimit: request.memoryLimit } : {});
  const clients = new DestinationClients(request.project);
  try {
    const state = await session.backend.read();
    const wanted = request.addresses ?? [];
    for (const address of wanted) {
      if (!state.cohorts[address]) throw new CohoError("verify.unknown_address", `${address} is not in the state: only applied cohorts can be verified`);
    }
    const addresses = (wanted.length > 0 ? [...wanted] : Object.keys(state.cohorts)).sort();
    const cohorts: VerifyCohort[] = [];
    for (const address of addresses) cohorts.push(await verifyCohort(request, session.engine, session.backend, clients, address, state.cohorts[address]!));
    return { format: "coho-verify", format_version: "1.1", drift: cohorts.some((c) => c.drifted > 0), cohorts };
  } finally {
    await clients.close();
    await session.close();
  }
}

async function verifyCohort(request: VerifyRequest, engine: DuckDbEngine, backend: StateBackend, clients: DestinationClients, address: string, entry: CohortState): Promise<VerifyCohort> {
  const base = { address, destination: entry.destination, members: entry.members.count, reasons: { changed: 0, absent: 0, evicted: 0, deleted: 0 } };
  const config = request.project.destinations.get(entry.destination);
  if (!config) throw new CohoError("verify.destination_missing", `${address}: destination ${entry.destination} is not in the configuration`);
  const read = await readDrift(config, engine, backend, clients, address, entry, request.sample ?? 200);
  if (!read) {
    return { ...base, status: "unsupported", message: `Braze offers no read-back for Cohort Import (${config.type}): cohort membership cannot be listed through the API, so drift cannot be checked`, sampled: 0, drifted: 0 };
  }
  const keys = read.sampled;
  const drifted = read.drifted.map((d) => d.key);
  const reasons = { ...base.reasons, ...read.reasons, deleted: read.reasons.absent };
  const show = request.showMembers ?? 0;
  return {
    ...base,
    status: "checked",
    message: drifted.length === 0 ? `${keys.length} of ${entry.members.count} members read back: all as coho wrote them` : `${drifted.length} of ${keys.length} members read back no longer hold what coho wrote`,
    sampled: keys.length,
    drifted: drifted.length,
    reasons,
    ...(reasons.absent > 0 ? { absent_means: absentMeaning(config) } : {}),
    ...(show > 0 ? { samples: drifted.slice(0, show) } : {}),
  };
}

/** What a read-back of a sample of one cohort's recorded members found. */
export interface DriftRead {
  readonly sampled: readonly string[];
  readonly drifted: readonly { readonly key: string; readonly reason: DriftReason }[];
  readonly reasons: Readonly<Record<DriftReason, number>>;
}

/**
 * Reads a random sample of a cohort's recorded members back from Braze and
 * tells which no longer hold what coho wrote (undefined: the road offers no
 * read-back). Shared by `verify` (which reports) and `plan --refresh-from-braze`
 * (which turns the drifted members into re-sent additions).
 */
export async function readDrift(config: DestinationConfig, engine: DuckDbEngine, backend: StateBackend, clients: DestinationClients, address: string, entry: CohortState, sample: number): Promise<DriftRead | undefined> {
  const client = clients.get(entry.destination);
  if (!client.readBack) return undefined;
  const keys = await sampleMembers(engine, backend, address, entry, sample);
  const values = await client.readBack({ cohortId: entry.cohort_id, target: entry.target }, keys);
  const drifted: { key: string; reason: DriftReason }[] = [];
  const reasons: Record<DriftReason, number> = { changed: 0, absent: 0, evicted: 0 };
  for (const key of keys) {
    const reason = driftOf(config, entry.target, values.get(key) ?? ({ kind: "absent" } satisfies ReadBackValue));
    if (!reason) continue;
    reasons[reason]++;
    drifted.push({ key, reason });
  }
  return { sampled: keys, drifted, reasons };
}

/**
 * Under missing_profiles: wait coho records a member only once an export found
 * its profile, so an absent member was deleted since; under ignore or create a
 * recorded member may never have had a profile (ignore) or lost it since.
 */
function absentMeaning(config: DestinationConfig): string {
  if (config.type === "braze_attributes" && config.missingProfiles === "wait") return "absent in Braze: the profile was deleted after coho confirmed it";
  if (config.type === "braze_attributes" && config.missingProfiles === "ignore") return "absent in Braze: no profile — never created (missing_profiles: ignore records unconfirmed members), or deleted since";
  return "absent in Braze: no profile — deleted since coho wrote it, or never created";
}

/** A uniform random sample of the recorded members (the snapshot's digest is checked on load). */
async function sampleMembers(engine: DuckDbEngine, backend: StateBackend, address: string, entry: CohortState, size: number): Promise<string[]> {
  if (entry.members.count === 0 || size <= 0) return [];
  const table = await backend.loadSnapshot(engine, address, expectedSnapshot(entry));
  try {
    const reader = await engine.connection.runAndReadAll(`SELECT key FROM ${table} ORDER BY random() LIMIT ${Math.floor(size)}`);
    return reader.getRowObjects().map((row) => String(row.key));
  } finally {
    await engine.drop(table);
  }
}
