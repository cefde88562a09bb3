import { discardEntry, pendingEntries, type PendingEntry } from "../apply/journal-entries.js";
import type { Project } from "../model/project.js";
import { newLockInfo } from "../state/lock-holder.js";
import type { LockRequest } from "./events.js";
import { withBackend } from "./with-backend.js";

export type { PendingEntry } from "../apply/journal-entries.js";

/** The requests of an interrupted apply whose fate is unknown, with their entry ids. */
export function listJournal(request: { readonly project: Project }): Promise<PendingEntry[]> {
  return withBackend(request.project, async (backend) => pendingEntries(await backend.journal().read()));
}

export interface DiscardJournalEntryRequest extends LockRequest {
  readonly project: Project;
  /** `<address>#<seq>` or `<address>#upsert`, as listJournal gives it. */
  readonly entry: string;
  /** Also discard a request of unknown fate (Braze may have applied it). */
  readonly force?: boolean;
}

/**
 * Drops one journal entry under the state lock: the way out of a request that
 * can never be sent. Refuses a request of unknown fate unless `force`.
 */
export function discardJournalEntry(request: DiscardJournalEntryRequest): Promise<PendingEntry> {
  return withBackend(request.project, async (backend) => {
    const release = await backend.lock(newLockInfo("state journal discard", request.env ?? {}), request.lockTimeoutMs ?? 0);
    const store = backend.journal();
    try {
      const result = discardEntry(await store.read(), request.entry, { force: request.force === true });
      await store.replace(result.records);
      return result.entry;
    } finally {
      store.close();
      release();
    }
  });
}
