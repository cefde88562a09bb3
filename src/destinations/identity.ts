import type { DestinationConfig } from "../model/project.js";
import type { Secret } from "../model/secret.js";

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

/** The keys that decide which workspace a destination's requests land in (the endpoint aside). */
const WORKSPACE_KEYS: { readonly [T in DestinationConfig["type"]]: (config: Extract<DestinationConfig, { type: T }>) => readonly Secret[] } = {
  braze_cohorts: (config) => [config.partnerApiKey, config.dataImportKey],
  braze_attributes: (config) => [config.apiKey],
};

function workspaceKeys(config: DestinationConfig): readonly Secret[] {
  return (WORKSPACE_KEYS[config.type] as (c: DestinationConfig) => readonly Secret[])(config);
}

/**
 * Destinations that write into one Braze workspace, by name → the first such
 * destination's name (in name order). One workspace: the same identity (road and
 * endpoint) and the same keys — equal values when set, else the same environment
 * variable. What one workspace holds is one profile per user, so rules about who
 * writes an attribute (sharing, the array cap) are judged per workspace, never per
 * destination name. Two different keys on one endpoint may still reach one
 * workspace (Braze issues several keys per workspace); only Braze could tell, so
 * coho treats them as two workspaces (docs/design-decisions.md).
 */
export function workspacesOf(destinations: ReadonlyMap<string, DestinationConfig>): Map<string, string> {
  const ordered = [...destinations.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const workspace = new Map<string, string>();
  for (const config of ordered) {
    const same = ordered.find((other) => workspace.get(other.name) === other.name && sameWorkspace(config, other));
    workspace.set(config.name, same?.name ?? config.name);
  }
  return workspace;
}

function sameWorkspace(a: DestinationConfig, b: DestinationConfig): boolean {
  if (destinationIdentity(a) !== destinationIdentity(b)) return false;
  const keysA = workspaceKeys(a);
  const keysB = workspaceKeys(b);
  return keysA.length === keysB.length && keysA.every((key, i) => key.sameKeyAs(keysB[i]!));
}
