import { touched, type HistoryOutcome, type HistoryRecord } from "./history.js";

/**
 * One cohort's recorded applies, oldest first: what the charts draw. Every
 * figure comes from the history records; nothing is sampled or smoothed.
 */
export interface CohortSeries {
  readonly address: string;
  readonly points: readonly SeriesPoint[];
}

export interface SeriesPoint {
  /** The apply's id and start time (ISO 8601). */
  readonly id: string;
  readonly at: string;
  readonly outcome: HistoryOutcome;
  /** The apply had something to do for this cohort (not only looked at it). */
  readonly touched: boolean;
  /**
   * Members in state after this apply. Recorded by coho since the history
   * record carried `members`; for an older record it is worked back from the
   * next known size (size before = size after − added + removed), and null
   * when nothing later anchors it.
   */
  readonly members: number | null;
  /** True when `members` was worked back rather than recorded. */
  readonly derived: boolean;
  readonly added: number;
  readonly removed: number;
  readonly requests: number;
  /** The whole apply's wall time (records hold no per-cohort time). */
  readonly duration_ms: number;
}

/**
 * Each cohort's series over `records` (oldest first), in order of first
 * appearance. `anchors` gives a cohort's size now (its count in state, or a
 * plan's `members.before`), used to work back records that predate `members`.
 */
export function cohortSeries(records: readonly HistoryRecord[], anchors: ReadonlyMap<string, number> = new Map()): CohortSeries[] {
  const byAddress = new Map<string, SeriesPointDraft[]>();
  for (const record of records) {
    const duration = Math.max(0, Date.parse(record.finished_at) - Date.parse(record.started_at));
    for (const cohort of record.cohorts) {
      let points = byAddress.get(cohort.address);
      if (!points) byAddress.set(cohort.address, (points = []));
      points.push({
        id: record.id,
        at: record.started_at,
        outcome: record.outcome,
        touched: touched(cohort),
        recorded: cohort.members ?? null,
        added: cohort.added,
        removed: cohort.removed,
        requests: cohort.requests,
        duration_ms: Number.isFinite(duration) ? duration : 0,
      });
    }
  }
  return [...byAddress].map(([address, drafts]) => ({ address, points: workBack(drafts, anchors.get(address)) }));
}

interface SeriesPointDraft extends Omit<SeriesPoint, "members" | "derived"> {
  readonly recorded: number | null;
}

/** Fills sizes missing from older records, walking back from the newest known one. */
function workBack(drafts: readonly SeriesPointDraft[], anchor: number | undefined): SeriesPoint[] {
  const points: SeriesPoint[] = new Array(drafts.length);
  // The size after the apply at index i+1 minus what that apply changed is the size after apply i.
  let later: number | null = anchor ?? null;
  let laterChange = 0;
  for (let i = drafts.length - 1; i >= 0; i--) {
    const { recorded, ...rest } = drafts[i]!;
    if (recorded !== null) {
      points[i] = { ...rest, members: recorded, derived: false };
      later = recorded;
    } else {
      const members = later === null ? null : Math.max(0, later - laterChange);
      points[i] = { ...rest, members, derived: members !== null };
      later = members;
    }
    laterChange = rest.added - rest.removed;
  }
  return points;
}
