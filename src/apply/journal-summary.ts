import type { JournalRecord } from "../state/journal.js";

type Batch = Extract<JournalRecord, { t: "batch" }>;
/** An acknowledged batch: every member except `refused` reached Braze; `unconfirmed` (within `refused`): additions Braze had no profile for. */
export type AckedBatch = Batch & { readonly refused: readonly string[]; readonly unconfirmed: readonly string[] };
type Upsert = Extract<JournalRecord, { t: "upsert" }>;
type CohortRecord = Extract<JournalRecord, { t: "cohort" }>;

/** What a journal says, per address: acknowledged work and work of unknown fate. */
export interface JournalCohort {
  readonly cohort: CohortRecord;
  readonly upsert: Upsert | undefined;
  readonly upsertAcked: boolean;
  readonly acked: AckedBatch[];
  readonly unknown: Batch[];
  readonly forget: boolean;
}

export function summarizeJournal(records: readonly JournalRecord[]): Map<string, JournalCohort> {
  const cohorts = new Map<string, { cohort?: CohortRecord; upsert?: Upsert; upsertAcked: boolean; batches: Map<number, Batch>; acked: Map<number, { refused: readonly string[]; unconfirmed: readonly string[] }>; forget: boolean }>();
  const at = (address: string) => {
    let entry = cohorts.get(address);
    if (!entry) {
      entry = { upsertAcked: false, batches: new Map(), acked: new Map(), forget: false };
      cohorts.set(address, entry);
    }
    return entry;
  };
  for (const record of records) {
    switch (record.t) {
      case "begin":
        break;
      case "cohort":
        at(record.address).cohort = record;
        break;
      case "upsert":
        at(record.address).upsert = record;
        break;
      case "upsert_ack":
        at(record.address).upsertAcked = true;
        break;
      case "batch":
        at(record.address).batches.set(record.seq, record);
        break;
      case "ack":
        at(record.address).acked.set(record.seq, { refused: record.refused ?? [], unconfirmed: record.unconfirmed ?? [] });
        break;
      case "forget":
        at(record.address).forget = true;
        break;
    }
  }
  const result = new Map<string, JournalCohort>();
  for (const [address, entry] of cohorts) {
    if (!entry.cohort) continue; // records without their cohort record cannot be folded; never written so
    const batches = [...entry.batches.values()].sort((a, b) => a.seq - b.seq);
    result.set(address, {
      cohort: entry.cohort,
      upsert: entry.upsert,
      upsertAcked: entry.upsertAcked,
      acked: batches.filter((b) => entry.acked.has(b.seq)).map((b) => ({ ...b, ...entry.acked.get(b.seq)! })),
      unknown: batches.filter((b) => !entry.acked.has(b.seq)),
      forget: entry.forget,
    });
  }
  return result;
}
