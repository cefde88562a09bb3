/**
 * Most characters of database error text coho echoes into its output. Errors can
 * quote data (a CSV line that failed to parse, a value that failed a cast), and
 * plan output ends up in pull-request comments: quote enough to fix the SQL, not
 * whole files.
 */
export const MAX_ECHOED_ERROR = 1_000;

/** `text` cut to `max` characters, saying how much was left out. */
export function boundText(text: string, max = MAX_ECHOED_ERROR): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters not shown)`;
}
