import { codeSpan } from "./escape.js";
import { groupDigits } from "../util/group-digits.js";

/**
 * Pieces of GitHub-flavoured markdown that stay valid whatever text they hold
 * (checked with GitHub's own renderer, cmark-gfm, in the tests).
 */

/** A code span inside a table cell: GFM splits cells on `|` even inside code, so it is escaped there too (GitHub shows `|`). */
export function cellCode(text: string): string {
  return codeSpan(text).replace(/\|/g, "\\|");
}

/** 12345 → "12,345": counts are read at a glance. */
export function count(n: number): string {
  return groupDigits(n);
}

/** A fenced diff (GitHub colours + and − lines); the fence is longer than any backtick run inside, so the text cannot close it. */
export function diffFence(diff: string): string {
  const longest = Math.max(2, ...(diff.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}diff\n${diff}\n${fence}`;
}

/** A table: header cells, alignment per column ("l" or "r"), rows of cells. Rows are whole lines: a cut never falls inside one. */
export interface MarkdownTable {
  readonly header: string;
  readonly rows: readonly string[];
}

export function tableHeader(columns: readonly { title: string; align: "l" | "r" }[]): string {
  return `| ${columns.map((c) => c.title).join(" | ")} |\n|${columns.map((c) => (c.align === "r" ? "---:" : "---")).join("|")}|`;
}

export function tableRow(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** At most `max` items as lines, then "…and N more" (so one long list cannot fill a comment). */
export function capped<T>(items: readonly T[], max: number, line: (item: T) => string, more: (n: number) => string): string[] {
  const shown = items.slice(0, max).map(line);
  if (items.length > max) shown.push(more(items.length - max));
  return shown;
}
