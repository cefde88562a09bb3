/**
 * A URL the schema let through, or undefined when it cannot be parsed: a value
 * whose `${env:…}` reference failed (missing, refused) is left as written, and
 * that failure is reported where it is; the builders skip it instead of failing.
 */
export function parsedUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
