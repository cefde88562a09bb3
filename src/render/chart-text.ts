/**
 * Small text helpers shared by the history charts (Mermaid and SVG): labels
 * for apply times, thousands separators, and the "is this change ordinary?"
 * comparison a reviewer reads under a chart.
 */
import { groupDigits } from "../util/group-digits.js";

/** `12-07 03:41` (UTC) for an ISO time: short enough for an axis. */
export function shortTime(iso: string): string {
  const match = /^\d{4}-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso);
  return match ? `${match[1]}-${match[2]} ${match[3]}:${match[4]}` : iso.slice(0, 16);
}

/**
 * Axis labels for apply times: `MM-DD HH:MM`, or with seconds when two applies
 * fall in one minute (they would read as the same apply otherwise), then
 * without the date when every apply was on one day.
 */
export function timeLabels(isos: readonly string[]): string[] {
  const short = isos.map(shortTime);
  if (new Set(short).size === short.length) return short;
  const oneDay = new Set(isos.map((iso) => iso.slice(0, 10))).size === 1;
  return isos.map((iso) => {
    const match = /^\d{4}-(\d{2})-(\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
    if (!match) return iso.slice(0, 19);
    return oneDay ? match[3]! : `${match[1]}-${match[2]} ${match[3]}`;
  });
}

export function thousands(value: number): string {
  return groupDigits(value);
}

/** `+12.5%`, `−3.0%`, or `new` when there was nothing before. */
export function relativeChange(before: number, after: number): string {
  if (before === 0) return after === 0 ? "±0%" : "new";
  const percent = ((after - before) / before) * 100;
  const text = Math.abs(percent).toFixed(1);
  return percent >= 0 ? `+${text}%` : `−${text}%`;
}

export interface PastChanges {
  readonly applies: number;
  readonly medianAdded: number;
  readonly medianRemoved: number;
  readonly maxAdded: number;
  readonly maxRemoved: number;
}

/** Medians and maxima of what earlier applies added and removed. */
export function pastChanges(points: readonly { readonly added: number; readonly removed: number }[]): PastChanges | null {
  if (points.length === 0) return null;
  const added = points.map((p) => p.added);
  const removed = points.map((p) => p.removed);
  return { applies: points.length, medianAdded: median(added), medianRemoved: median(removed), maxAdded: Math.max(...added), maxRemoved: Math.max(...removed) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/**
 * Whether this change is out of the ordinary against the past: larger than
 * every earlier apply's, or more than three times the median. A reviewer's
 * hint, not a guard.
 */
export function unusual(add: number, remove: number, past: PastChanges | null): string | null {
  if (past === null || past.applies < 3) return null;
  const notes: string[] = [];
  if (add > past.maxAdded && add > 3 * Math.max(1, past.medianAdded)) notes.push(`adds more than any of the last ${past.applies} applies`);
  if (remove > past.maxRemoved && remove > 3 * Math.max(1, past.medianRemoved)) notes.push(`removes more than any of the last ${past.applies} applies`);
  return notes.length > 0 ? notes.join("; ") : null;
}
