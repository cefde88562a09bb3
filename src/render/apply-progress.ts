import { visible } from "./escape.js";
import { groupDigits } from "../util/group-digits.js";

/** Counters behind the progress line; pure formatting, no timers. */
export interface ProgressState {
  readonly sent: number;
  readonly total: number;
  readonly requests: number;
  readonly retries: number;
  readonly elapsedMs: number;
  readonly active: readonly string[];
}

/**
 * One line, at most `columns - 1` characters so a terminal never wraps it (a
 * wrapped line cannot be redrawn in place and leaves stale rows). The list of
 * active cohorts is cut first, then the line itself.
 */
export function progressLine(state: ProgressState, columns = Number.POSITIVE_INFINITY): string {
  const seconds = state.elapsedMs / 1000;
  const rate = seconds > 0 ? state.requests / seconds : 0;
  const pct = state.total > 0 ? Math.floor((state.sent / state.total) * 100) : 100;
  const remaining = state.total - state.sent;
  const idsPerSecond = seconds > 0 ? state.sent / seconds : 0;
  const eta = idsPerSecond > 0 && remaining > 0 ? `, ETA ${formatEta(remaining / idsPerSecond)}` : "";
  const head = `Applying: ${groupDigits(state.sent)}/${groupDigits(state.total)} members (${pct}%), ${rate.toFixed(1)} req/s, ${state.retries} retries${eta}`;
  const width = Math.max(20, columns - 1);
  // Addresses come from config and state (a hand-edited lockfile may hold anything): escaped.
  const active = fitList(state.active.map((a) => visible(a)), width - head.length - 3);
  return truncate(active ? `${head} [${active}]` : head, width);
}

/** 42 → "42s", 754 → "12m34s", 7_500 → "2h05m": minutes and hours for long applies. */
export function formatEta(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** As many names as fit in `room`, then "+N more". */
function fitList(names: readonly string[], room: number): string {
  if (names.length === 0 || room <= 0) return "";
  let text = "";
  for (let i = 0; i < names.length; i++) {
    const next = text === "" ? names[i]! : `${text}, ${names[i]}`;
    const more = i + 1 < names.length ? `, +${names.length - i - 1} more` : "";
    if ((next + more).length > room) return text === "" ? "" : `${text}, +${names.length - i} more`;
    text = next;
  }
  return text;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
