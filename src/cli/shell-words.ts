/**
 * The little of POSIX shell syntax completion needs: splitting the command line
 * typed so far into words (quotes and backslashes removed), and quoting a
 * candidate so the shell reads back exactly it. Used for bash, which hands
 * completion the raw line; zsh and fish unquote words themselves.
 */

export interface TypedLine {
  /** Complete words, unquoted. */
  readonly words: string[];
  /** The word under the cursor, unquoted (empty after a space). */
  readonly current: string;
  /** The same word as typed, quotes and all. */
  readonly currentRaw: string;
  /** The quote still open at the cursor, if any. */
  readonly openQuote: "'" | '"' | undefined;
}

export function splitTypedLine(line: string): TypedLine {
  const words: string[] = [];
  let value = "";
  let raw = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quote === "'") {
      raw += char;
      if (char === "'") quote = undefined;
      else value += char;
      continue;
    }
    if (quote === '"') {
      raw += char;
      if (char === '"') quote = undefined;
      else if (char === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) {
        raw += line[++i];
        value += line[i];
      } else value += char;
      continue;
    }
    if (char === " " || char === "\t" || char === "\n") {
      if (inWord) words.push(value);
      value = "";
      raw = "";
      inWord = false;
      continue;
    }
    inWord = true;
    raw += char;
    if (char === "'" || char === '"') quote = char;
    else if (char === "\\" && i + 1 < line.length) {
      raw += line[++i];
      value += line[i];
    } else value += char;
  }
  return { words, current: value, currentRaw: raw, openQuote: quote };
}

/** Characters a shell treats specially in an unquoted word (globs, quotes, separators…). */
const SPECIAL = /[^A-Za-z0-9_./:=@%+,-]/;

/**
 * `text` as a shell word, quoted in the style the user began with: inside an
 * open single or double quote, closed again; otherwise single quotes when
 * anything in it is special (`cohorts.by_country["DE"]` → `'cohorts.by_country["DE"]'`).
 */
export function quoteWord(text: string, style: "'" | '"' | undefined): string {
  if (style === '"') return `"${text.replace(/(["\\$`])/g, "\\$1")}"`;
  if (style === undefined && !SPECIAL.test(text)) return text;
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** The word's quote style: the quote it starts with, if any. */
export function quoteStyle(raw: string): "'" | '"' | undefined {
  return raw.startsWith("'") ? "'" : raw.startsWith('"') ? '"' : undefined;
}
