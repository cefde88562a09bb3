import { readFileSync, statSync } from "node:fs";
import { LineCounter, isScalar, parseDocument, visit, type Document } from "yaml";
import type { Diagnostic } from "../model/diagnostic.js";

/** Config files are small; anything larger is refused before parsing (hostile input). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Alias expansions allowed when turning YAML into data (alias bombs stop here). */
export const MAX_ALIAS_COUNT = 100;

export interface YamlFile {
  readonly path: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

export type ReadYamlResult =
  | { readonly ok: true; readonly file: YamlFile; readonly diagnostics: Diagnostic[] }
  | { readonly ok: false; readonly text: string | undefined; readonly diagnostics: Diagnostic[] };

/**
 * Reads one YAML file defensively: size cap, UTF-8 check, no NUL bytes, duplicate
 * keys and syntax errors reported with their position. Never throws for bad input.
 */
export function readYamlFile(path: string): ReadYamlResult {
  const at = (line = 1, column = 1) => ({ file: path, line, column });
  const fail = (code: string, message: string, text?: string): ReadYamlResult => ({
    ok: false,
    text,
    diagnostics: [{ severity: "error", code, message, location: at() }],
  });

  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return fail("config.file_unreadable", "cannot read this file");
  }
  if (size > MAX_CONFIG_BYTES) {
    return fail("config.file_too_large", `file is ${size} bytes; config files are limited to ${MAX_CONFIG_BYTES} bytes`);
  }
  const bytes = readFileSync(path);
  if (bytes.includes(0)) return fail("config.binary", "file is binary (it contains NUL bytes), not YAML");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("config.encoding", "file is not valid UTF-8 text");
  }

  const deep = nestingTooDeep(text);
  if (deep) {
    return { ok: false, text, diagnostics: [{ severity: "error", code: "config.yaml_depth", message: `YAML nested deeper than ${MAX_DEPTH} levels (refused as hostile input)`, location: at(deep.line, deep.column) }] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const diagnostics: Diagnostic[] = [];
  // After the first syntax error the parser's further complaints are mostly its
  // consequences: report the first one only (duplicate keys are independent).
  const firstSyntax = doc.errors.find((e) => e.code !== "DUPLICATE_KEY");
  for (const error of doc.errors.filter((e) => e.code === "DUPLICATE_KEY" || e === firstSyntax)) {
    const [line, column] = position(lines, error.pos[0]);
    diagnostics.push({
      severity: "error",
      code: error.code === "DUPLICATE_KEY" ? "config.duplicate_key" : "config.yaml_syntax",
      message: yamlMessage(error.code, error.message),
      location: { file: path, line, column, length: Math.max(1, error.pos[1] - error.pos[0]) },
    });
  }
  for (const warning of doc.warnings) {
    const [line, column] = position(lines, warning.pos[0]);
    // Unknown tags (e.g. !!js/function) would silently become strings: refuse them.
    diagnostics.push({ severity: "error", code: "config.yaml_tag", message: yamlMessage(warning.code, warning.message), location: { file: path, line, column } });
  }
  diagnostics.push(...mergeKeys(doc, lines, path));
  if (diagnostics.length > 0) return { ok: false, text, diagnostics };
  return { ok: true, file: { path, text, doc, lines }, diagnostics };
}

/**
 * YAML 1.1 merge keys (`<<: *base`) are refused with one clear message: merged
 * values would bypass where coho resolves secrets and locates errors, and under
 * YAML 1.2 `<<` is an ordinary key that would only confuse the schema check.
 */
function mergeKeys(doc: Document.Parsed, lines: LineCounter, path: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(doc, {
    Pair(_key, pair) {
      if (!isScalar(pair.key) || pair.key.value !== "<<" || !pair.key.range) return;
      const [line, column] = position(lines, pair.key.range[0]);
      found.push({
        severity: "error",
        code: "config.yaml_merge_key",
        message: "YAML merge keys (`<<: *anchor`) are not supported: write the keys out, or share whole entries through `include:` files",
        location: { file: path, line, column, length: 2 },
      });
    },
  });
  return found;
}

/** Deeper nesting than any config needs; the parser would overflow its stack long before a real limit. */
export const MAX_DEPTH = 64;

/**
 * Where flow nesting (`[`/`{`) or block indentation first passes MAX_DEPTH.
 * Quoted strings and comments are skipped; block depth is approximated by
 * indentation steps, which is enough to refuse hostile input early.
 */
function nestingTooDeep(text: string): { line: number; column: number } | undefined {
  let depth = 0;
  let line = 1;
  let column = 0;
  let quote: string | undefined;
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    column++;
    if (ch === "\n") {
      line++;
      column = 0;
      comment = false;
      const indent = /^ */.exec(text.slice(i + 1, i + 1 + 4 * MAX_DEPTH + 8))![0].length;
      if (indent > 2 * MAX_DEPTH && depth === 0) return { line, column: 1 };
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (ch === quote && text[i - 1] !== "\\") quote = undefined;
      continue;
    }
    if (ch === "#" && (i === 0 || /\s/.test(text[i - 1]!))) comment = true;
    else if ((ch === '"' || ch === "'") && depth > 0) quote = ch;
    else if (ch === "[" || ch === "{") {
      if (++depth > MAX_DEPTH) return { line, column };
    } else if ((ch === "]" || ch === "}") && depth > 0) depth--;
  }
  return undefined;
}

/** Converts a parsed document to plain data, refusing alias bombs. */
export function toData(file: YamlFile): { ok: true; value: unknown } | { ok: false; diagnostic: Diagnostic } {
  try {
    return { ok: true, value: file.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    const message = error instanceof Error && /alias/i.test(error.message)
      ? `too many YAML aliases: expanding them would exceed ${MAX_ALIAS_COUNT} (refused as a possible alias bomb)`
      : `cannot read this YAML: ${error instanceof Error ? error.message : String(error)}`;
    return { ok: false, diagnostic: { severity: "error", code: "config.yaml_aliases", message, location: { file: file.path, line: 1, column: 1 } } };
  }
}

export function position(lines: LineCounter, offset: number): [number, number] {
  const pos = lines.linePos(offset);
  return [pos.line, pos.col];
}

/** yaml's messages end with position details we already show; keep the first sentence. */
function yamlMessage(code: string, message: string): string {
  const first = message.split(/ at line \d+|\n/)[0] ?? message;
  if (code === "DUPLICATE_KEY") return "duplicate key: this key already appears in the same mapping";
  return `YAML syntax error: ${first.replace(/\.$/, "")}`;
}
