import type { HistoryRecord } from "../model/history.js";
import type { Project } from "../model/project.js";
import { cohortSeries, type CohortSeries } from "../model/size-history.js";
import { withBackend } from "./with-backend.js";

export interface HistoryRequest {
  readonly project: Project;
  /** Only the newest `last` applies. */
  readonly last?: number;
  /** Only applies that touched this cohort address. */
  readonly address?: string;
}

export interface HistoryResult {
  /** Oldest first. */
  readonly records: readonly HistoryRecord[];
  /**
   * Per cohort, the points the charts draw, from the same records; sizes
   * missing from older records are worked back from the size in state now.
   */
  readonly series: readonly CohortSeries[];
}

/** The applies recorded in state (newest 1,000 kept). Reads only; takes no lock. */
export async function history(request: HistoryRequest): Promise<HistoryResult> {
  return withBackend(request.project, async (backend) => {
    const records = await backend.history().list({
      ...(request.last === undefined ? {} : { last: request.last }),
      ...(request.address === undefined ? {} : { address: request.address }),
    });
    const view = await backend.read();
    const anchors = new Map(Object.entries(view.cohorts).map(([address, cohort]) => [address, cohort.members.count]));
    const series = cohortSeries(records, anchors).filter((s) => request.address === undefined || s.address === request.address);
    return { records, series };
  });
}
