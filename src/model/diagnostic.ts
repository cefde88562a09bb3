/** Where something is written: a file and a 1-based line and column. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Length of the offending text on that line, for underlining (at least 1). */
  readonly length?: number;
}

export type Severity = "error" | "warning";

/**
 * One finding about the user's input. Validation returns these; it never throws
 * for a user error. Messages are plain text (no ANSI) and never hold a secret.
 */
export interface Diagnostic {
  readonly severity: Severity;
  /** Stable, dotted identifier, e.g. `config.unknown_key`. Part of the JSON contract. */
  readonly code: string;
  readonly message: string;
  readonly location?: SourceLocation;
  /** A second place involved, e.g. the first definition of a duplicate name. */
  readonly related?: SourceLocation;
}

export function errorCount(diagnostics: readonly Diagnostic[]): number {
  return diagnostics.filter((d) => d.severity === "error").length;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
