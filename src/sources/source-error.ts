import type { SourceLocation } from "../model/diagnostic.js";
import { CohoError } from "../model/errors.js";
import type { ModelConfig } from "../model/project.js";
import { boundText } from "../model/bound-text.js";
import { redactKnown } from "../model/redaction.js";

/**
 * An error about a model's SQL, located where the SQL is written: `line` and
 * `column` are positions inside the SQL text (1-based) as the database reported
 * them; they are mapped onto the YAML block or .sql file holding it.
 */
export function modelSqlError(model: ModelConfig, databaseMessage: string, position?: { line: number; column: number }): CohoError {
  const location = position ? sqlLocation(model, position.line, position.column) : model.sqlOrigin;
  return new CohoError("source.sql_error", `model ${model.name}: the database refused its SQL:\n${indent(boundText(redactKnown(databaseMessage)))}`, {
    location,
    hint: `fix the SQL of models.${model.name} at ${location.file}:${location.line}:${location.column}`,
  });
}

/** Maps a position inside the SQL text onto the file that holds it. */
export function sqlLocation(model: ModelConfig, line: number, column: number): SourceLocation {
  const origin = model.sqlOrigin;
  // In a YAML block every SQL line is indented by the block's column; in a .sql file that column is 1.
  return { file: origin.file, line: origin.line + line - 1, column: origin.column + column - 1 };
}

/** Position of a character offset (0-based) within a text, 1-based line and column. */
export function offsetToPosition(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split("\n");
  return { line: lines.length, column: (lines[lines.length - 1] ?? "").length + 1 };
}

function indent(text: string): string {
  return text
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
