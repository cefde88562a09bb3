import kleur from "kleur";
import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";
import { visible, visibleLines } from "./escape.js";
import { displayPath } from "./paths.js";

export interface DiagnosticView {
  readonly cwd: string;
  /** Source texts by absolute path, for code frames. */
  readonly texts: ReadonlyMap<string, string>;
}

/**
 * Human output: `FILE:LINE:COL: error: message [code]`, then a short code frame.
 * Colour comes from kleur, which the CLI switches on or off once.
 */
export function renderDiagnosticsHuman(diagnostics: readonly Diagnostic[], view: DiagnosticView): string {
  const blocks = diagnostics.map((d) => {
    const severity = d.severity === "error" ? kleur.red().bold("error") : kleur.yellow().bold("warning");
    const where = d.location ? `${kleur.bold(formatLocation(d.location, view.cwd))}: ` : "";
    const head = `${where}${severity}: ${visibleLines(d.message)} ${kleur.dim(`[${d.code}]`)}`;
    const frame = d.location ? codeFrame(d.location, view.texts.get(d.location.file)) : "";
    return frame === "" ? head : `${head}\n${frame}`;
  });
  return blocks.join("\n\n");
}

export function renderDiagnosticsSummary(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (errors === 0) {
    const suffix = warnings === 0 ? "" : ` (${plural(warnings, "warning")})`;
    return kleur.green("The configuration is valid.") + suffix;
  }
  return kleur.red(`The configuration has ${plural(errors, "error")}`) + (warnings === 0 ? "." : ` and ${plural(warnings, "warning")}.`);
}

/** The JSON contract of `coho validate --json`. */
export function diagnosticsJson(diagnostics: readonly Diagnostic[], cwd: string): object {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  return {
    valid: errors === 0,
    error_count: errors,
    warning_count: diagnostics.length - errors,
    diagnostics: diagnostics.map((d) => ({
      severity: d.severity,
      code: d.code,
      message: d.message,
      file: d.location ? displayPath(d.location.file, cwd) : null,
      line: d.location?.line ?? null,
      column: d.location?.column ?? null,
    })),
  };
}

/** GitHub Actions workflow commands, so errors show on the pull request's lines. */
export function githubAnnotations(diagnostics: readonly Diagnostic[], cwd: string): string {
  return diagnostics
    .map((d) => {
      const kind = d.severity === "error" ? "error" : "warning";
      const where = d.location
        ? ` file=${escapeProperty(displayPath(d.location.file, cwd))},line=${d.location.line},col=${d.location.column}`
        : "";
      return `::${kind}${where}::${escapeData(visibleLines(d.message))}`;
    })
    .join("\n");
}

export function formatLocation(location: SourceLocation, cwd: string): string {
  return `${displayPath(location.file, cwd)}:${location.line}:${location.column}`;
}

function codeFrame(location: SourceLocation, text: string | undefined): string {
  if (text === undefined) return "";
  const lines = text.split(/\r?\n/);
  const index = location.line - 1;
  if (index < 0 || index >= lines.length) return "";
  const first = Math.max(0, index - 1);
  const width = String(location.line).length;
  // Very long lines (minified or hostile YAML) are shown as a window around the column.
  const long = (lines[index]?.length ?? 0) > 2 * FRAME_CONTEXT;
  const start = long ? Math.max(0, location.column - 1 - FRAME_CONTEXT) : 0;
  const clip = (line: string) => line.length <= 2 * FRAME_CONTEXT ? line : (start > 0 ? "…" : "") + line.slice(start, start + 2 * FRAME_CONTEXT) + (line.length > start + 2 * FRAME_CONTEXT ? "…" : "");
  const out: string[] = [];
  for (let i = first; i <= index; i++) {
    const marker = i === index ? kleur.red(">") : " ";
    // Tabs keep the caret under the right spot; other controls are shown escaped.
    out.push(`${marker} ${kleur.dim(`${String(i + 1).padStart(width)} |`)} ${visible(clip(lines[i] ?? ""), { keepTabs: true })}`);
  }
  const column = location.column - start + (start > 0 ? 1 : 0);
  const caret = "^".repeat(Math.max(1, Math.min(location.length ?? 1, FRAME_CONTEXT, (lines[index]?.length ?? 0) - location.column + 1)));
  out.push(`  ${" ".repeat(width)} ${kleur.dim("|")} ${" ".repeat(column - 1)}${kleur.red(caret)}`);
  return out.join("\n");
}

/** Characters shown on each side of the error's column in a code frame. */
const FRAME_CONTEXT = 60;

function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}
