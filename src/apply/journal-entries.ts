import { CohoError } from "../model/errors.js";
import { parseMemberKey } from "../model/member-key.js";
import type { JournalRecord } from "../state/journal.js";
import { summarizeJournal } from "./journal-summary.js";

/**
 * A request in the journal whose fate is not known (journaled, never
 * acknowledged). `sendable: false` means it can never be sent — a key in it is
 * not a member key, so the request body cannot be built and it never left
 * coho — and every later apply would stop on it.
 */
export interface PendingEntry {
  /** `<address>#<seq>` for a membership batch, `<address>#upsert` for a cohort upsert. */
  readonly id: string;
  readonly address: string;
  readonly kind: "batch" | "upsert";
  readonly destination: string;
  readonly cohortId: string;
  readonly add: number;
  readonly remove: number;
  readonly sendable: boolean;
  readonly problem?: string;
}

export function entryId(address: string, seq: number | "upsert"): string {
  return `${address}#${seq}`;
}

export function pendingEntries(records: readonly JournalRecord[]): PendingEntry[] {
  const entries: PendingEntry[] = [];
  for (const [address, work] of summarizeJournal(records)) {
    if (work.upsert && !work.upsertAcked) {
      entries.push({ id: entryId(address, "upsert"), address, kind: "upsert", destination: work.upsert.destination, cohortId: work.upsert.cohort_id, add: 0, remove: 0, sendable: true });
    }
    for (const batch of work.unknown) {
      const bad = [...batch.add, ...batch.remove].find((key) => typeof key !== "string" || parseMemberKey(key) === undefined);
      entries.push({
        id: entryId(address, batch.seq),
        address,
        kind: "batch",
        destination: batch.destination,
        cohortId: batch.cohort_id,
        add: batch.add.length,
        remove: batch.remove.length,
        sendable: bad === undefined,
        ...(bad === undefined ? {} : { problem: `holds ${JSON.stringify(String(bad).slice(0, 40))}, which is not a member key: it can never be sent` }),
      });
    }
  }
  return entries;
}

/**
 * The journal without entry `id`. Refused for a request of unknown fate (Braze
 * may have applied it; forgetting it would leave state behind Braze) unless
 * `force`; a request that can never be sent is discarded freely.
 */
export function discardEntry(records: readonly JournalRecord[], id: string, options: { force?: boolean } = {}): { records: JournalRecord[]; entry: PendingEntry } {
  const pending = pendingEntries(records);
  const entry = pending.find((e) => e.id === id);
  if (!entry) {
    throw new CohoError("state.journal_no_entry", `the journal has no pending entry ${id}`, {
      hint: pending.length > 0 ? `pending entries: ${pending.map((e) => e.id).join(", ")}` : "the journal has no pending entries: nothing to discard",
    });
  }
  if (entry.sendable && !options.force) {
    throw new CohoError("state.journal_unknown_fate", `${id} is a request of unknown fate: Braze may have applied it, and discarding it would make coho forget that`, {
      hint: `run coho apply to resend it (safe: requests are idempotent); to discard it anyway: coho state journal discard --entry ${id} --force`,
    });
  }
  const seq = entry.kind === "batch" ? Number(id.slice(id.lastIndexOf("#") + 1)) : undefined;
  const kept = records.filter((r) => {
    if (!("address" in r) || r.address !== entry.address) return true;
    if (entry.kind === "upsert") return r.t !== "upsert";
    return !((r.t === "batch" || r.t === "ack") && r.seq === seq);
  });
  return { records: kept, entry };
}
