import { CohoError } from "../model/errors.js";
import type { Project } from "../model/project.js";
import type { CohortState, LockfileDoc, LockInfo, StateView } from "../model/state.js";
import { newLockInfo } from "../state/lock-holder.js";
import type { LockRequest } from "./events.js";
import { withBackend } from "./with-backend.js";
import { join } from "node:path";
import { readLockfile } from "../state/lockfile.js";
import { stateFilesFor } from "../model/state-files.js";

/** Every cohort address in state, with its recorded entry. */
export function listState(request: { readonly project: Project }): Promise<StateView> {
  return withBackend(request.project, (backend) => backend.read());
}

/**
 * Addresses recorded in a local coho.lock (set instances included), read
 * synchronously and without a lock, for shell completion: never connects to a
 * database (a PostgreSQL state backend gives none), never throws.
 */
export function recordedAddressesNoWait(project: Project): string[] {
  if (project.state.backend !== "local") return [];
  try {
    return Object.keys(readLockfile(join(project.dir, stateFilesFor(project.environment).lockfile)).cohorts);
  } catch {
    return [];
  }
}

/** One cohort's recorded state (no identifiers); state.unknown_address when absent. */
export async function showStateEntry(request: { readonly project: Project; readonly address: string }): Promise<CohortState> {
  const doc = await listState(request);
  const entry = doc.cohorts[request.address];
  if (!entry) throw notInState(request.address, Object.keys(doc.cohorts));
  return entry;
}

export interface RemoveFromStateRequest extends LockRequest {
  readonly project: Project;
  readonly address: string;
  /** Asked under the lock, with the entry about to be forgotten; absent means confirmed. */
  readonly confirm?: (address: string, entry: CohortState) => boolean | Promise<boolean>;
}

export type RemoveFromStateResult =
  | { readonly removed: true; readonly entry: CohortState; readonly serial: number }
  | { readonly removed: false; readonly entry: CohortState };

/** Forgets a cohort without touching Braze (its members stay there). */
export function removeFromState(request: RemoveFromStateRequest): Promise<RemoveFromStateResult> {
  return withBackend(request.project, async (backend) => {
    const release = await backend.lock(newLockInfo("state rm", request.env ?? {}), request.lockTimeoutMs ?? 0);
    try {
      const doc = await backend.read();
      const entry = doc.cohorts[request.address];
      if (!entry || doc.lineage === null) throw notInState(request.address, Object.keys(doc.cohorts));
      if (request.confirm && !(await request.confirm(request.address, entry))) return { removed: false, entry };
      const { [request.address]: _removed, ...rest } = doc.cohorts;
      const next: LockfileDoc = { ...(doc as LockfileDoc), serial: doc.serial + 1, cohorts: rest };
      await backend.write(next);
      await backend.pruneSnapshots(next);
      return { removed: true, entry, serial: next.serial };
    } finally {
      release();
    }
  });
}

/**
 * Releases a state lock left by a process that will not come back; needs its exact
 * id. `force` also takes it from a holder still alive on this host (it stops at its next write).
 */
export function forceUnlock(request: { readonly project: Project; readonly id: string; readonly force?: boolean }): Promise<LockInfo> {
  return withBackend(request.project, (backend) => backend.forceUnlock(request.id, { force: request.force === true }));
}

function notInState(address: string, known: readonly string[]): CohoError {
  return new CohoError("state.unknown_address", `${address} is not in state`, { hint: known.length > 0 ? `state has: ${known.join(", ")}` : "the state is empty" });
}
