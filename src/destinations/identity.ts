import type { DestinationConfig } from "../model/project.js";

/**
 * Which Braze workspace a destination reaches, as recorded per cohort in state:
 * never a secret, only what names the place. Each destination type provides
 * its own (a new road adds its entry here, or the compiler refuses): the
 * partner Cohort Import road is the REST endpoint plus the partner path
 * segment; a road on the public REST API is its endpoint alone. When it
 * differs from what state recorded, the plan shows a re-target.
 */
const IDENTITY: { readonly [T in DestinationConfig["type"]]: (config: Extract<DestinationConfig, { type: T }>) => string } = {
  braze_cohorts: (config) => `braze_cohorts ${normalizeEndpoint(config.restEndpoint)} partner=${config.partner}`,
  braze_attributes: (config) => `braze_attributes ${normalizeEndpoint(config.restEndpoint)}`,
};

export function destinationIdentity(config: DestinationConfig): string {
  return (IDENTITY[config.type] as (c: DestinationConfig) => string)(config);
}

/** Scheme and host in lower case, default port dropped, no trailing slash: one spelling per endpoint. */
export function normalizeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    const path = url.pathname.replace(/\/+$/, "");
    return `${url.protocol}//${url.host}${path}`;
  } catch {
    return endpoint.trim().replace(/\/+$/, "");
  }
}
