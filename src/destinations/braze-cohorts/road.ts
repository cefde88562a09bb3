import type { BrazeCohortsConfig } from "../../model/project.js";
import type { DestinationRoad } from "../destination.js";
import { BrazeClient, MAX_IDENTIFIERS_PER_REQUEST } from "./cohorts-client.js";

/** Cohort Import's documented limit: 250,000 requests per hour. */
export const COHORT_IMPORT_REQUESTS_PER_HOUR = 250_000;

/** The partner Cohort Import road (`type: braze_cohorts`). */
export const BRAZE_COHORTS: DestinationRoad<BrazeCohortsConfig> = {
  type: "braze_cohorts",
  validateCohort(config, cohort, _identifier, at) {
    if (cohort.attribute === undefined) {
      if (!cohort.onLeaveOrigin) return [];
      return [{
        severity: "error",
        code: "config.on_leave_unsupported",
        message: `${cohort.address}: on_leave says what a boolean attribute becomes when a member leaves, but ${config.name} is braze_cohorts (Cohort Import), where a leaving member is simply removed from the cohort: remove on_leave, or send the cohort to a braze_attributes destination with a boolean attribute`,
        location: cohort.onLeaveOrigin,
      }];
    }
    const location = at("attribute");
    return [{
      severity: "error",
      code: "config.attribute_unsupported",
      message: `${cohort.address}: attribute is for braze_attributes destinations; ${config.name} is braze_cohorts, whose cohorts need no attribute: remove it, or send the cohort to a braze_attributes destination`,
      ...(location ? { location } : {}),
    }];
  },
  validateCohorts: () => [],
  targetOf: () => undefined,
  requestSize: () => MAX_IDENTIFIERS_PER_REQUEST,
  estimate(_config, work) {
    const requests = (work.prepare ? 1 : 0) + work.sends.reduce((n, s) => n + Math.ceil((s.add + s.remove) / MAX_IDENTIFIERS_PER_REQUEST), 0);
    // Cohort Import is not billed per data point: membership is no attribute update.
    return { requests, attribute_updates: 0, seconds: roundSeconds((requests * 3600) / COHORT_IMPORT_REQUESTS_PER_HOUR) };
  },
  open(config, options) {
    return new BrazeClient({
      ...options,
      endpoint: config.restEndpoint,
      partner: config.partner,
      partnerApiKey: config.partnerApiKey,
      dataImportKey: config.dataImportKey,
      destination: config.name,
    });
  },
};

export function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
