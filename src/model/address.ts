/**
 * Cohort addresses: `cohorts.<key>` for an ordinary cohort or a whole set, and
 * `cohorts.<set>["<key value>"]` for one instance of a set. The key value is
 * written as a JSON string, so any text (quotes, brackets, non-ASCII) round-trips.
 */
export interface ParsedAddress {
  /** The key under `cohorts:` (the set's key for an instance). */
  readonly cohort: string;
  /** The instance's key value; undefined for a plain address. */
  readonly instance: string | undefined;
}

const ADDRESS = /^cohorts\.([a-z][a-z0-9_]{0,62})(?:\[("(?:[^"\\]|\\.)*")\])?$/s;

export function instanceAddress(setKey: string, keyValue: string): string {
  return `cohorts.${setKey}[${JSON.stringify(keyValue)}]`;
}

/** undefined when `text` is not a cohort address. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const match = ADDRESS.exec(text);
  if (!match) return undefined;
  if (match[2] === undefined) return { cohort: match[1]!, instance: undefined };
  try {
    const value: unknown = JSON.parse(match[2]);
    if (typeof value !== "string") return undefined;
    // Only the canonical spelling is an address, so one instance has one address.
    if (instanceAddress(match[1]!, value) !== text) return undefined;
    return { cohort: match[1]!, instance: value };
  } catch {
    return undefined;
  }
}

/** True when `address` is `target` itself or, for a set address, one of its instances. */
export function addressMatches(target: string, address: string): boolean {
  return address === target || (address.startsWith(`${target}[`) && !target.includes("["));
}
