import { InvalidArgumentError } from "commander";
import { parseAddress } from "../model/address.js";

/** "30s", "5m", "1h", "500ms" or a bare number of seconds → milliseconds. */
export function parseDurationFlag(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError("expected a duration such as 30s, 5m or 1h");
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ?? 1000;
  return Math.round(Number(match[1]) * unit);
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
