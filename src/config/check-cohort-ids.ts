import type { Diagnostic } from "../model/diagnostic.js";
import type { CohortConfig } from "../model/project.js";
import { describeLocation } from "./collect-entries.js";

/**
 * One Braze cohort belongs to one address. Two addresses naming the same
 * `cohort_id` would each rename and edit the other's cohort (and each remove the
 * other's members), so the second one is an error naming the first.
 */
export function checkSharedCohortIds(projectDir: string, cohorts: Iterable<CohortConfig>, diagnostics: Diagnostic[]): void {
  const first = new Map<string, CohortConfig>();
  for (const cohort of cohorts) {
    if (cohort.cohortId === undefined) continue;
    const holder = first.get(cohort.cohortId);
    if (!holder) {
      first.set(cohort.cohortId, cohort);
      continue;
    }
    const holderAt = holder.cohortIdOrigin ?? holder.origin;
    diagnostics.push({
      severity: "error",
      code: "config.cohort_id_shared",
      message: `${cohort.address}.cohort_id: Braze cohort ${cohort.cohortId} is already used by ${holder.address} (${describeLocation(projectDir, holderAt)}); each Braze cohort may belong to one address only`,
      location: cohort.cohortIdOrigin ?? cohort.origin,
      related: holderAt,
    });
  }
}
