import { InvalidArgumentError } from "commander";

/** "30s", "5m", "1h", "500ms" or a bare number of seconds → milliseconds. */
export function parseDurationFlag(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError("expected a duration such as 30s, 5m or 1h");
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ?? 1000;
  return Math.round(Number(match[1]) * unit);
}
