import type { Diagnostic, SourceLocation } from "./diagnostic.js";

/**
 * The one exception type the engine throws on purpose. `code` is stable; the CLI
 * maps every CohoError to exit code 1 and prints its message without a stack.
 * Messages never contain secrets or ANSI colour.
 */
export class CohoError extends Error {
  override readonly name = "CohoError";
  readonly code: string;
  readonly location: SourceLocation | undefined;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { location?: SourceLocation; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.location = options.location;
    this.hint = options.hint;
  }
}

/** Thrown when a command cannot go on because its input has errors. */
export class DiagnosticsError extends CohoError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const count = diagnostics.filter((d) => d.severity === "error").length;
    super("config.invalid", `the configuration has ${count} error${count === 1 ? "" : "s"}`);
    this.diagnostics = diagnostics;
  }
}

/** Wrong use of the command line (unknown flag, missing argument). Exit code 1. */
export class UsageError extends CohoError {
  constructor(message: string, hint?: string) {
    super("cli.usage", message, hint === undefined ? {} : { hint });
  }
}
