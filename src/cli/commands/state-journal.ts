import type { Command } from "commander";
import kleur from "kleur";
import type { PendingEntry } from "../../operations/state-journal.js";
import type { CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { STATE_ONLY_SECRETS } from "../../model/secret-needs.js";

/** Loaded on demand: the state backends pull in DuckDB and pg, which --help does not need. */
const journalOperations = () => import("../../operations/state-journal.js");

/** `coho state journal [discard --entry ID [--force]]`: the way out of a journal entry that can never be sent. */
export function registerStateJournal(state: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  const journal = state
    .command("journal")
    .description("list the requests of an interrupted apply whose fate is unknown")
    .action(async () => {
      const ctx = context();
      const entries = await (await journalOperations()).listJournal({ project: loadConfigOrThrow(ctx, STATE_ONLY_SECRETS) });
      ctx.output.out(renderPending(entries));
      setExitCode(EXIT_OK);
    });
  journal
    .command("discard")
    .requiredOption("--entry <id>", "the entry to drop, as listed by coho state journal (e.g. cohorts.a#3)")
    .option("--force", "also discard a request of unknown fate (Braze may have applied it)")
    .description("drop one journal entry that can never be sent, so that apply can go on")
    .action(async (options: { entry: string; force?: boolean }) => {
      const ctx = context();
      const entry = await (await journalOperations()).discardJournalEntry({
        project: loadConfigOrThrow(ctx, STATE_ONLY_SECRETS),
        entry: options.entry,
        force: options.force === true,
        lockTimeoutMs: ctx.global.lockTimeoutMs,
        env: ctx.io.env,
      });
      ctx.output.out(`${kleur.green("Discarded")} ${entry.id} (${describe(entry)}). Run coho apply to finish the rest of the interrupted apply.`);
      setExitCode(EXIT_OK);
    });
}

function describe(entry: PendingEntry): string {
  const what = entry.kind === "upsert" ? `cohort upsert of ${entry.cohortId}` : `+${entry.add} / −${entry.remove} members of ${entry.cohortId}`;
  return `${what} on ${entry.destination}; ${entry.sendable ? "fate unknown" : "never sent"}`;
}

function renderPending(entries: readonly PendingEntry[]): string {
  if (entries.length === 0) return "The journal has no pending requests.";
  const lines = entries.map((e) => `  ${e.id}  ${describe(e)}${e.problem ? `\n      ${e.problem}` : ""}`);
  return [`${entries.length} request(s) of an interrupted apply are pending; the next coho apply resends them:`, ...lines].join("\n");
}
