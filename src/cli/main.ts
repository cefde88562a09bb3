import { CommanderError } from "commander";
import { buildProgram } from "./program.js";
import type { CommandContext } from "./context.js";
import { EXIT_ERROR, EXIT_OK, reportError } from "./exit-codes.js";
import { Output, configureColor, exitQuietlyOnBrokenPipe, processIo, type CliIo } from "./io.js";

/**
 * Runs coho with `argv` (as process.argv: node, script, args…) and resolves to the
 * exit code. The only caller of process.exit-like behaviour is bin/coho.js, which
 * sets process.exitCode from this value.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const output = new Output(io);
  configureColor(io, output, false);
  if (io.stdout === process.stdout) exitQuietlyOnBrokenPipe(process.stdout);
  if (io.stderr === process.stderr) exitQuietlyOnBrokenPipe(process.stderr);
  if (io.stderr === process.stderr) {
    // A rejection nobody awaited (a driver's late error) ends the run with a message and exit 1, never a crash dump or 13.
    process.on("unhandledRejection", (reason) => process.exit(reportError(reason, io, output)));
    process.on("uncaughtException", (error) => process.exit(reportError(error, io, output)));
  }
  let exitCode = EXIT_OK;
  let context: CommandContext | undefined;
  const program = buildProgram({
    makeContext: (global) => {
      configureColor(io, output, !global.color);
      context = { io, output, global, texts: new Map() };
      return context;
    },
    setExitCode: (code) => {
      exitCode = code;
    },
  });
  program.configureOutput({
    writeOut: (text) => output.out(text.replace(/\n$/, "")),
    writeErr: (text) => output.err(text.replace(/\n$/, "")),
  });
  if (wantsVersion(argv.slice(2))) {
    const { printVersion } = await import("./commands/meta.js");
    printVersion({ io, output, global: { dir: ".", color: false, lockTimeoutMs: 0, vars: {}, allowPaths: [] }, texts: new Map() }, argv.includes("--json"));
    return EXIT_OK;
  }
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0; usage errors with 1.
      return error.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    }
    return reportError(error, io, output, context?.texts);
  }
}

/** The event loop emptied while a command was still pending: a stalled driver, not success. */
export function reportStalled(): number {
  process.stderr.write(
    "error: coho stopped with its work unfinished: a connection closed without answering (a database or Braze went away)\n" +
      "hint: run the command again; state only advances by acknowledged work, so nothing is lost\n",
  );
  return EXIT_ERROR;
}

/** `coho --version` / `-V` (with `--json`: build information), before any command word. */
function wantsVersion(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === "--version" || arg === "-V") return true;
    if (!arg.startsWith("-")) return false;
  }
  return false;
}
