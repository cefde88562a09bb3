import type { Command } from "commander";
import kleur from "kleur";
import type { CommandContext } from "../context.js";
import { EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { STATE_ONLY_SECRETS } from "../../model/secret-needs.js";
import { ask } from "../prompt.js";
import { registerStateJournal } from "./state-journal.js";

/** Loaded on demand: the state backends pull in DuckDB and pg, which --help does not need. */
const stateOperations = () => import("../../operations/state.js");
// Loaded when used: it pulls node:crypto and node:os, which start-up of other commands does not need.
const lockHolder = () => import("../../state/lock-holder.js");

export function registerState(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  const state = program.command("state").description("inspect or edit the recorded state");
  state
    .command("list")
    .description("cohort addresses in state, with their Braze cohort ids and member counts")
    .action(async () => {
      const ctx = context();
      const doc = await (await stateOperations()).listState({ project: loadConfigOrThrow(ctx, STATE_ONLY_SECRETS) });
      ctx.output.out((await import("../../render/state-view.js")).renderStateList(doc));
      setExitCode(EXIT_OK);
    });
  state
    .command("show")
    .argument("<address>", "e.g. cohorts.recent_buyers")
    .description("one cohort's recorded state (no identifiers)")
    .action(async (address: string) => {
      const ctx = context();
      const entry = await (await stateOperations()).showStateEntry({ project: loadConfigOrThrow(ctx, STATE_ONLY_SECRETS), address });
      ctx.output.out((await import("../../state/canonical-json.js")).canonicalJson(entry).trimEnd());
      setExitCode(EXIT_OK);
    });
  state
    .command("rm")
    .argument("<address>", "e.g. cohorts.recent_buyers")
    .description("forget a cohort without touching Braze (its members stay there)")
    .action(async (address: string) => {
      setExitCode(await runRemove(context(), address));
    });
  registerStateJournal(state, context, setExitCode);
  program
    .command("force-unlock")
    .argument("<lock-id>", "the exact id of the lock, as printed by the command that holds it")
    .option("--force", "also take the lock from a coho that still runs on this host (it stops at its next write)")
    .description("release a state lock left behind by a process that will not come back")
    .action(async (id: string, options: { force?: boolean }) => {
      const ctx = context();
      const holder = await (await stateOperations()).forceUnlock({ project: loadConfigOrThrow(ctx, STATE_ONLY_SECRETS), id, force: options.force === true });
      ctx.output.out(`Released the lock held by ${(await lockHolder()).describeLock(holder)}.`);
      setExitCode(EXIT_OK);
    });
}

async function runRemove(ctx: CommandContext, address: string): Promise<number> {
  const result = await (await stateOperations()).removeFromState({
    project: loadConfigOrThrow(ctx, STATE_ONLY_SECRETS),
    address,
    lockTimeoutMs: ctx.global.lockTimeoutMs,
    env: ctx.io.env,
    // Without a terminal there is no one to ask: the command line is the confirmation.
    ...(ctx.io.stdin.isTTY
      ? {
          confirm: async (_address: string, entry: { cohort_id: string; members: { count: number } }) =>
            (await ask(ctx.io, `Forget ${address} (Braze cohort ${entry.cohort_id}, ${entry.members.count} members)? Braze keeps it. Only 'yes' is accepted: `)) === "yes",
        }
      : {}),
  });
  if (!result.removed) {
    ctx.output.err("Nothing was changed.");
    return EXIT_ERROR;
  }
  ctx.output.out(`${kleur.green("Removed")} ${address} from state (serial ${result.serial}). Braze cohort ${result.entry.cohort_id} was not touched.`);
  return EXIT_OK;
}
