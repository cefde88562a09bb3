/**
 * Text from users, databases and Braze reaches terminals and pull-request
 * comments. Characters that could act instead of being read are shown as escapes:
 * C0 and C1 controls (ESC starts terminal sequences, NUL and CR hide text, a line
 * break could forge a plan line), and the bidirectional-text controls that reorder
 * what a reviewer sees (Trojan Source). Everything else prints as it is.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** `text` on one line with every unsafe character as `\n`, `\x1b`, `\u202e`. */
export function visible(text: string, options: { keepTabs?: boolean } = {}): string {
  return text.replace(UNSAFE, (char) => (options.keepTabs && char === "\t" ? char : escapeOne(char)));
}

/** Like visible, but line breaks stay: for multi-line text such as SQL diffs. */
export function visibleLines(text: string): string {
  return text.split("\n").map((line) => visible(line)).join("\n");
}

function escapeOne(char: string): string {
  if (char === "\n") return "\\n";
  if (char === "\r") return "\\r";
  if (char === "\t") return "\\t";
  const code = char.codePointAt(0)!;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * A markdown code span that shows `text` literally whatever backticks it holds:
 * the fence is one backtick longer than the longest run inside, padded with a
 * space when the text starts or ends with a backtick (CommonMark's rule).
 */
export function codeSpan(text: string): string {
  const safe = visible(text);
  const longest = Math.max(0, ...(safe.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = safe.startsWith("`") || safe.endsWith("`") || (safe.startsWith(" ") && safe.endsWith(" ") && safe.trim() !== "") ? " " : "";
  return `${fence}${pad}${safe}${pad}${fence}`;
}

/** Text for a markdown paragraph or table cell: one line, no HTML, no cell breaks. */
export function markdownText(text: string): string {
  return visible(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\|/g, "\\|");
}
