/**
 * The one duration grammar of coho, for every flag and config key that takes a
 * duration: a sequence of <number><unit> parts, units d, h, m, s, ms, largest first
 * ("500ms", "30s", "10m", "1h30m", "1m30s", "1.5s", "7d"), or "0". A bare number is
 * refused: it meant seconds in one place and milliseconds in another before.
 */
const PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
const ORDER = ["d", "h", "m", "s", "ms"] as const;

/** The pattern the JSON schema uses for config durations; keep it equal to parseDuration. */
export const DURATION_PATTERN = "^(0|(?=[0-9])([0-9]+(\\.[0-9]+)?d)?([0-9]+(\\.[0-9]+)?h)?([0-9]+(\\.[0-9]+)?m)?([0-9]+(\\.[0-9]+)?s)?([0-9]+(\\.[0-9]+)?ms)?)$";

export const DURATION_HINT = "write a duration with a unit: 500ms, 30s, 10m, 1h30m (or 0)";

export type DurationResult = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly message: string };

export function parseDuration(input: string): DurationResult {
  const text = input.trim();
  if (text === "0") return { ok: true, ms: 0 };
  if (/^\d+(\.\d+)?$/.test(text)) return { ok: false, message: `"${text}" has no unit; ${DURATION_HINT}` };
  let ms = 0;
  let lastUnit = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (!match || match.index !== start) return { ok: false, message: `"${text}" is not a duration; ${DURATION_HINT}` };
    const unit = match[2] as keyof typeof UNIT_MS;
    const rank = ORDER.indexOf(unit);
    if (rank <= lastUnit) return { ok: false, message: `"${text}" repeats or misorders units; ${DURATION_HINT}` };
    lastUnit = rank;
    ms += Number(match[1]) * UNIT_MS[unit];
  }
  if (text.length === 0) return { ok: false, message: `an empty duration; ${DURATION_HINT}` };
  return { ok: true, ms: Math.round(ms) };
}

/** Milliseconds as the grammar writes them, largest units first: 5_400_000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  let rest = Math.round(ms);
  let text = "";
  for (const unit of ORDER) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
