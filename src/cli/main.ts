import { CommanderError } from "commander";
import { buildProgram } from "./program.js";
import type { CommandContext } from "./context.js";
import { EXIT_ERROR, EXIT_OK, reportError } from "./exit-codes.js";
import { Output, configureColor, processIo, type CliIo } from "./io.js";

/**
 * Runs coho with `argv` (as process.argv: node, script, args…) and resolves to the
 * exit code. The only caller of process.exit-like behaviour is bin/coho.js, which
 * sets process.exitCode from this value.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const output = new Output(io);
  let exitCode = EXIT_OK;
  let context: CommandContext | undefined;
  const program = buildProgram({
    makeContext: (global) => {
      configureColor(io, !global.color);
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
