import { Argument, type Command } from "commander";
import { buildInfo } from "../../build-info.js";
import { OFFLINE_SECRETS, validate } from "../../operations/validate.js";
import type { recordedAddressesNoWait } from "../../operations/state.js";
import { UsageError } from "../../model/errors.js";
import { COMPLETION_SHELLS, complete, completeWords, completionScript, type Completion, type CompletionShell } from "../completion.js";
import { quoteStyle, quoteWord, splitTypedLine } from "../shell-words.js";
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
    .addArgument(shellArgument())
    .description("print a shell completion script (commands, flags, cohort addresses)")
    .action((shell: string) => {
      context().output.out(completionScript(shell as CompletionShell).trimEnd());
      setExitCode(EXIT_OK);
    });
  program
    .command("__complete", { hidden: true })
    .argument("[words...]")
    .option("--shell <shell>", "answer for this shell's script: bash (quoted replies), zsh or fish (a kind line, then words)")
    .option("--word <word>", "bash: the word readline replaces ($2)")
    .option("--line <line>", "bash: the command line up to the cursor")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (words: string[], flags: { shell?: string; word?: string; line?: string }) => {
      const ctx = context();
      // Loaded here, not with every command: the state module pulls backends, node:crypto and node:os.
      const { recordedAddressesNoWait: recorded } = await import("../../operations/state.js");
      const addresses = (dir: string) => projectAddresses(resolve(ctx.io.cwd, ctx.global.dir, dir), ctx.io.env, recorded);
      const lines = flags.shell === "bash" ? bashReplies(program, flags.line ?? "", flags.word ?? "", addresses) : flags.shell ? kindAndWords(complete({ program, words, addresses })) : completeWords({ program, words, addresses });
      if (lines.length > 0) ctx.output.out(lines.join("\n"));
      setExitCode(EXIT_OK);
    });
}

/** `completion <shell>`: its choices complete, and a wrong one is a usage error naming them. */
function shellArgument(): Argument {
  return new Argument("<shell>", COMPLETION_SHELLS.join(" | ")).choices(COMPLETION_SHELLS).argParser((shell: string) => {
    if (!COMPLETION_SHELLS.includes(shell as CompletionShell)) throw new UsageError(`no completion for shell "${shell}"`, `choose one of ${COMPLETION_SHELLS.join(", ")}`);
    return shell;
  });
}

/** zsh and fish: the first line says what to complete, the candidates follow. */
function kindAndWords(completion: Completion): string[] {
  return [completion.kind, ...completion.words];
}

/**
 * bash: words as readline will insert them in place of its word `word`, quoted
 * so the shell reads back exactly the candidate (`'cohorts.by_country["DE"]'`).
 * Nothing when file names should be completed: the script's -o default does it.
 */
function bashReplies(program: Command, line: string, word: string, addresses: (dir: string) => readonly string[]): string[] {
  const typed = splitTypedLine(line);
  const completion = complete({ program, words: [...typed.words.slice(1), typed.current], addresses });
  if (completion.kind !== "words") return [];
  const style = typed.openQuote ?? quoteStyle(typed.currentRaw);
  // readline replaces only its own word, which may start inside the shell word (after a quote or bracket).
  const before = typed.currentRaw.endsWith(word) ? typed.currentRaw.slice(0, typed.currentRaw.length - word.length) : "";
  return completion.words.map((candidate) => {
    const quoted = quoteWord(candidate, style);
    return quoted.startsWith(before) ? quoted.slice(before.length) : quoted;
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
    // Completion never needs a secret: Braze keys and the state URL may be unset.
    const project = validate({ dir, env, secrets: OFFLINE_SECRETS }).project;
    if (!project) return [];
    const declared = [...project.cohorts.keys()].map((key) => `cohorts.${key}`);
    return [...new Set([...declared, ...recorded(project)])];
  } catch {
    return [];
  }
}
