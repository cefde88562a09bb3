import { CohoError } from "../model/errors.js";
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

/** Repeatable --var name=value; a later value of the same name wins (as in Terraform). */
export function collectVar(value: string, previous: Record<string, string>): Record<string, string> {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(value);
  if (!match) throw new InvalidArgumentError("expected name=value, e.g. --var min_orders=3 (the name as declared under vars: in coho.yaml)");
  return { ...previous, [match[1]!]: match[2]! };
}

/** Repeatable --allow-path PATH. */
export function collectAllowPath(value: string, previous: string[]): string[] {
  if (value === "") throw new InvalidArgumentError("expected a path");
  return [...previous, value];
}

/** `--refresh-from-braze [--sample N]` as the plan request takes it; --sample alone is a usage error. */
export function repairOption(flags: { refreshFromBraze?: boolean; sample?: number }): { refreshFromBraze?: { sample: number } } {
  if (flags.sample !== undefined && !flags.refreshFromBraze) throw new CohoError("cli.usage", "--sample goes with --refresh-from-braze");
  if (flags.sample !== undefined && flags.sample < 1) throw new CohoError("cli.usage", "--sample must be at least 1");
  return flags.refreshFromBraze ? { refreshFromBraze: { sample: flags.sample ?? 200 } } : {};
}
