import type { HistoryRecord } from "../model/history.js";
import type { Project } from "../model/project.js";
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
}

/** The applies recorded in state (newest 1,000 kept). Reads only; takes no lock. */
export async function history(request: HistoryRequest): Promise<HistoryResult> {
  const records = await withBackend(request.project, (backend) =>
    backend.history().list({
      ...(request.last === undefined ? {} : { last: request.last }),
      ...(request.address === undefined ? {} : { address: request.address }),
    }),
  );
  return { records };
}
