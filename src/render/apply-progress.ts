/** Counters behind the progress line; pure formatting, no timers. */
export interface ProgressState {
  readonly sent: number;
  readonly total: number;
  readonly requests: number;
  readonly retries: number;
  readonly elapsedMs: number;
  readonly active: readonly string[];
}

export function progressLine(state: ProgressState): string {
  const seconds = state.elapsedMs / 1000;
  const rate = seconds > 0 ? state.requests / seconds : 0;
  const pct = state.total > 0 ? Math.floor((state.sent / state.total) * 100) : 100;
  const remaining = state.total - state.sent;
  const idsPerSecond = seconds > 0 ? state.sent / seconds : 0;
  const eta = idsPerSecond > 0 && remaining > 0 ? `, ETA ${Math.ceil(remaining / idsPerSecond)}s` : "";
  const active = state.active.length > 0 ? ` [${state.active.join(", ")}]` : "";
  return `Applying: ${state.sent.toLocaleString("en")}/${state.total.toLocaleString("en")} members (${pct}%), ${rate.toFixed(1)} req/s, ${state.retries} retries${eta}${active}`;
}
