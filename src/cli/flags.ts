import { InvalidArgumentError } from "commander";

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
  if (!/^cohorts\.[a-z][a-z0-9_]{0,62}$/.test(address)) throw new InvalidArgumentError("expected a cohort address such as cohorts.recent_buyers");
  return [...previous, address];
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number");
  return n;
}
