import type { Command } from "commander";
import { buildInfo } from "../../build-info.js";
import { validate } from "../../operations/validate.js";
import type { recordedAddressesNoWait } from "../../operations/state.js";
import { UsageError } from "../../model/errors.js";
import { COMPLETION_SHELLS, completeWords, completionScript, type CompletionShell } from "../completion.js";
import type { CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { resolve } from "node:path";

/** `coho version`, `coho completion SHELL` and the hidden `coho __complete` the scripts call. */
export function registerMeta(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("version")
    .description("print coho's version (--json: with build information)")
    .option("--json", "version, commit, Node.js, platform and DuckDB as JSON")
    .action((flags: { json?: boolean }) => {
      printVersion(context(), flags.json === true);
      setExitCode(EXIT_OK);
    });
  program
    .command("completion")
    .argument("<shell>", COMPLETION_SHELLS.join(" | "))
    .description("print a shell completion script (commands, flags, cohort addresses)")
    .action((shell: string) => {
      if (!COMPLETION_SHELLS.includes(shell as CompletionShell)) throw new UsageError(`no completion for shell "${shell}"`, `choose one of ${COMPLETION_SHELLS.join(", ")}`);
      context().output.out(completionScript(shell as CompletionShell).trimEnd());
      setExitCode(EXIT_OK);
    });
  program
    .command("__complete", { hidden: true })
    .argument("[words...]")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words: string[]) => {
      const ctx = context();
      // Loaded here, not with every command: the state module pulls backends, node:crypto and node:os.
      const { recordedAddressesNoWait: recorded } = await import("../../operations/state.js");
      const candidates = completeWords({ program, words, addresses: (dir) => projectAddresses(resolve(ctx.io.cwd, ctx.global.dir, dir), ctx.io.env, recorded) });
      if (candidates.length > 0) ctx.output.out(candidates.join("\n"));
      setExitCode(EXIT_OK);
    });
}

export function printVersion(ctx: CommandContext, json: boolean): void {
  const info = buildInfo();
  if (json) ctx.output.out(JSON.stringify(info, null, 2));
  else ctx.output.out(`coho ${info.version}${info.commit ? ` (${info.commit.slice(0, 12)})` : ""}`);
}

/**
 * Addresses of the project's cohorts and sets, plus the set instances recorded in
 * a local coho.lock (instances exist only once a model ran); none when the project
 * does not load (completion must never fail).
 */
function projectAddresses(dir: string, env: NodeJS.ProcessEnv, recorded: typeof recordedAddressesNoWait): string[] {
  try {
    const project = validate({ dir, env }).project;
    if (!project) return [];
    const declared = [...project.cohorts.keys()].map((key) => `cohorts.${key}`);
    return [...new Set([...declared, ...recorded(project)])];
  } catch {
    return [];
  }
}
