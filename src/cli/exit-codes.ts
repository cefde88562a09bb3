import kleur from "kleur";
import { visibleLines } from "../render/escape.js";
import { boundText } from "../model/bound-text.js";
import { CohoError, DiagnosticsError } from "../model/errors.js";
import { formatLocation, githubAnnotations, renderDiagnosticsHuman } from "../render/diagnostics.js";
import type { CliIo, Output } from "./io.js";
import { describeSystemFailure } from "./system-errors.js";

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
/** Success with changes, only with --detailed-exitcode. */
export const EXIT_CHANGES = 2;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/**
 * The one place that turns a thrown error into text and an exit code. Expected
 * errors (CohoError) print their message and hint, never a stack; anything else is
 * a bug in coho, reported as such, with the stack only under COHO_DEBUG.
 */
export function reportError(error: unknown, io: CliIo, output: Output, texts: ReadonlyMap<string, string> = new Map()): number {
  const annotate = io.env.GITHUB_ACTIONS === "true";
  if (error instanceof DiagnosticsError) {
    output.err(renderDiagnosticsHuman(error.diagnostics, { cwd: io.cwd, texts }));
    if (annotate) output.err(githubAnnotations(error.diagnostics, io.cwd));
    return EXIT_ERROR;
  }
  if (error instanceof CohoError) {
    // Located errors name their file, line and column first, as diagnostics do.
    const where = error.location ? `${kleur.bold(formatLocation(error.location, io.cwd))}: ` : "";
    const code = error.location ? ` ${kleur.dim(`[${error.code}]`)}` : "";
    output.err(`${where}${kleur.red().bold("error")}: ${visibleLines(error.message)}${code}`);
    if (error.hint) output.err(`${kleur.dim("hint")}: ${visibleLines(error.hint)}`);
    if (annotate) {
      const message = error.hint ? `${error.message} (${error.hint})` : error.message;
      output.err(githubAnnotations([{ severity: "error", code: error.code, message, ...(error.location ? { location: error.location } : {}) }], io.cwd));
    }
    return EXIT_ERROR;
  }
  const failure = describeSystemFailure(error);
  if (failure) {
    output.err(`${kleur.red().bold("error")}: ${failure.message}`);
    output.err(`${kleur.dim("hint")}: ${failure.hint}`);
    if (annotate) output.err(githubAnnotations([{ severity: "error", code: "system", message: `${failure.message} (${failure.hint})` }], io.cwd));
    return EXIT_ERROR;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.err(`${kleur.red().bold("internal error")}: ${visibleLines(boundText(message))}`);
  if (io.env.COHO_DEBUG && error instanceof Error && error.stack) output.err(error.stack);
  else output.err("This is a bug in coho. Run again with COHO_DEBUG=1 for details, and please report it.");
  return EXIT_ERROR;
}
