import { InvalidArgumentError } from "commander";
import { parseAddress } from "../model/address.js";
import { parseDuration } from "../model/duration.js";

/** Any duration flag → milliseconds, in coho's one grammar (model/duration.ts). */
export function parseDurationFlag(text: string): number {
  const result = parseDuration(text);
  if (!result.ok) throw new InvalidArgumentError(result.message);
  return result.ms;
}

/** Repeatable --target ADDR; a bare key is taken as cohorts.KEY. */
export function collectTargets(value: string, previous: string[]): string[] {
  const address = value.startsWith("cohorts.") ? value : `cohorts.${value}`;
  if (!parseAddress(address)) throw new InvalidArgumentError('expected a cohort address such as cohorts.recent_buyers, a set such as cohorts.by_country, or an instance such as \'cohorts.by_country["DE"]\'');
  return [...previous, address];
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
  return n;
}
