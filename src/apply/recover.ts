import type { StateView } from "../model/state.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { StateBackend } from "../state/backend.js";
import type { DestinationClients } from "../destinations/clients.js";
import type { ApplyEventListener } from "./events.js";
import { foldJournal } from "./fold-journal.js";
import type { JournalStore } from "../state/journal.js";
import { summarizeJournal, type JournalCohort } from "./journal-summary.js";
import { entryId } from "./journal-entries.js";
import { CohoError } from "../model/errors.js";
import { isStateFailure } from "../state/storage-error.js";

/**
 * Finishes an apply that was interrupted (killed, crashed, or failed mid-way):
 * re-sends every journaled request whose fate is unknown (safe: upserts and
 * membership changes are idempotent), then folds the journal into state. Runs
 * under the state lock, before any new plan is made.
 */
export async function recoverInterrupted(
  ctx: { readonly journal: JournalStore; readonly backend: StateBackend; readonly engine: DuckDbEngine; readonly clients: DestinationClients; readonly now: () => Date; readonly onEvent?: ApplyEventListener },
): Promise<{ cohorts: number; batches: number } | null> {
  const records = await ctx.journal.read();
  if (records.length === 0) return null;
  const work = summarizeJournal(records);
  const batches = [...work.values()].reduce((n, w) => n + w.unknown.length, 0);
  ctx.onEvent?.({ type: "resuming", cohorts: work.size, batches });
  // Leaves before joins, over all cohorts, in apply's phases (apply/execute-plan.ts):
  // batches that only leave, then other cohorts' batches (a request group's
  // shared batches among them), then the joins of re-targets. Two cohorts' batches
  // write one binding only when one leaves what the other joins, and the join must
  // land last, as apply sent it. Each cohort's upsert still comes before its batches.
  const phase = (cohort: JournalCohort, batch: JournalCohort["unknown"][number]) => (batch.add.length === 0 ? 0 : cohort.cohort.retarget ? 2 : 1);
  const prepared = new Set<string>();
  for (const [pass, [address, cohort]] of [0, 1, 2].flatMap((p) => [...work].map((w) => [p, w] as const))) {
    let current = entryId(address, "upsert");
    try {
      if (cohort.upsert && !cohort.upsertAcked && !prepared.has(address)) {
        const u = cohort.upsert;
        await ctx.clients.get(u.destination).prepare({ cohortId: u.cohort_id, name: u.name, createdAt: u.created_at });
        await ctx.journal.append({ t: "upsert_ack", address });
        prepared.add(address);
      }
      for (const batch of cohort.unknown.filter((b) => phase(cohort, b) === pass)) {
        current = entryId(address, batch.seq);
        const refused = await ctx.clients.get(batch.destination).resend({ cohortId: batch.cohort_id, target: batch.target }, batch);
        const unconfirmed = [...new Set(refused.filter((r) => r.unconfirmed).map((r) => r.key))];
        await ctx.journal.append({ t: "ack", address, seq: batch.seq, ...(refused.length > 0 ? { refused: [...new Set(refused.map((r) => r.key))] } : {}), ...(unconfirmed.length > 0 ? { unconfirmed } : {}) });
      }
    } catch (error) {
      // State cannot be recorded: write nothing more; the journal still holds every complete record.
      if (isStateFailure(error)) throw error;
      // Fold what is known, keep the rest for the next try.
      await fold(ctx);
      const never = error instanceof CohoError && error.code === "braze.member_key";
      throw new CohoError("apply.resume_failed", `could not finish the interrupted apply of ${address} (journal entry ${current}): ${(error as Error).message}`, {
        hint: never
          ? `this request can never be sent: drop it with coho state journal discard --entry ${current}, then run coho apply again`
          : "fix the cause and run coho apply again; it resumes where it stopped (coho state journal lists what is pending)",
      });
    }
  }
  await fold(ctx);
  return { cohorts: work.size, batches };
}

async function fold(ctx: { readonly journal: JournalStore; readonly backend: StateBackend; readonly engine: DuckDbEngine; readonly now: () => Date; readonly onEvent?: ApplyEventListener }): Promise<StateView> {
  const state = await ctx.backend.read();
  const result = await foldJournal(await ctx.journal.read(), state, ctx.backend, ctx.engine, ctx.now());
  await ctx.journal.replace(result.remaining);
  if (result.doc) ctx.onEvent?.({ type: "state_written", serial: result.doc.serial });
  return result.doc ?? state;
}

export { fold as foldIntoState };
