import type { Command } from "commander";
import kleur from "kleur";
import { CohoError } from "../../model/errors.js";
import type { LockfileDoc } from "../../model/state.js";
import { renderStateList } from "../../render/state-view.js";
import { canonicalJson } from "../../state/canonical-json.js";
import { describeLock, newLockInfo } from "../../state/lock-holder.js";
import type { StateBackend } from "../../state/backend.js";
import type { CommandContext } from "../context.js";
import { EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { ask } from "../prompt.js";

export function registerState(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  const state = program.command("state").description("inspect or edit the recorded state");
  state
    .command("list")
    .description("cohort addresses in state, with their Braze cohort ids and member counts")
    .action(async () => {
      const ctx = context();
      const state = await withBackend(ctx, (backend) => backend.read());
      ctx.output.out(renderStateList(state));
      setExitCode(EXIT_OK);
    });
  state
    .command("show")
    .argument("<address>", "e.g. cohorts.recent_buyers")
    .description("one cohort's recorded state (no identifiers)")
    .action(async (address: string) => {
      const ctx = context();
      const doc = await withBackend(ctx, (backend) => backend.read());
      const entry = doc.cohorts[address];
      if (!entry) throw notInState(address, Object.keys(doc.cohorts));
      ctx.output.out(canonicalJson(entry).trimEnd());
      setExitCode(EXIT_OK);
    });
  state
    .command("rm")
    .argument("<address>", "e.g. cohorts.recent_buyers")
    .description("forget a cohort without touching Braze (its members stay there)")
    .action(async (address: string) => {
      setExitCode(await runRemove(context(), address));
    });
  program
    .command("force-unlock")
    .argument("<lock-id>", "the exact id of the lock, as printed by the command that holds it")
    .option("--force", "also take the lock from a coho that still runs on this host (it stops at its next write)")
    .description("release a state lock left behind by a process that will not come back")
    .action(async (id: string, options: { force?: boolean }) => {
      const ctx = context();
      const holder = await withBackend(ctx, (backend) => backend.forceUnlock(id, { force: options.force === true }));
      ctx.output.out(`Released the lock held by ${describeLock(holder)}.`);
      setExitCode(EXIT_OK);
    });
}

async function runRemove(ctx: CommandContext, address: string): Promise<number> {
  return withBackend(ctx, (backend) => removeAddress(ctx, backend, address));
}

async function removeAddress(ctx: CommandContext, backend: StateBackend, address: string): Promise<number> {
  const release = await backend.lock(newLockInfo("state rm", ctx.io.env), ctx.global.lockTimeoutMs);
  try {
    const doc = await backend.read();
    const entry = doc.cohorts[address];
    if (!entry || doc.lineage === null) throw notInState(address, Object.keys(doc.cohorts));
    if (ctx.io.stdin.isTTY) {
      const answer = await ask(ctx.io, `Forget ${address} (Braze cohort ${entry.cohort_id}, ${entry.members.count} members)? Braze keeps it. Only 'yes' is accepted: `);
      if (answer !== "yes") {
        ctx.output.err("Nothing was changed.");
        return EXIT_ERROR;
      }
    }
    const { [address]: _removed, ...rest } = doc.cohorts;
    const next: LockfileDoc = { ...(doc as LockfileDoc), serial: doc.serial + 1, cohorts: rest };
    await backend.write(next);
    await backend.pruneSnapshots(next);
    ctx.output.out(`${kleur.green("Removed")} ${address} from state (serial ${next.serial}). Braze cohort ${entry.cohort_id} was not touched.`);
    return EXIT_OK;
  } finally {
    release();
  }
}

/**
 * Runs `work` with the project's state backend, closing it after. Loaded on
 * demand: the backends pull in DuckDB and pg, which --help does not need.
 */
export async function withBackend<T>(ctx: CommandContext, work: (backend: StateBackend) => Promise<T>): Promise<T> {
  const { openBackend } = await import("../../state/open-backend.js");
  const backend = openBackend(loadConfigOrThrow(ctx));
  try {
    return await work(backend);
  } finally {
    await backend.close();
  }
}

function notInState(address: string, known: readonly string[]): CohoError {
  return new CohoError("state.unknown_address", `${address} is not in state`, { hint: known.length > 0 ? `state has: ${known.join(", ")}` : "the state is empty" });
}
