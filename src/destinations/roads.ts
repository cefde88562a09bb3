import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";
import type { CostEstimate, GuardVerdict } from "../model/plan.js";
import type { CohortConfig, DestinationConfig, IdentifierConfig, Project } from "../model/project.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { EXPORT_REQUESTS_PER_MINUTE } from "./braze-attributes/export-ids.js";
import { BRAZE_ATTRIBUTES } from "./braze-attributes/road.js";
import { BRAZE_COHORTS } from "./braze-cohorts/road.js";
import type { ClientOptions, DestinationClient, DestinationRoad, DriftReason, MembershipWork, ReadBackValue } from "./destination.js";
import { workspacesOf } from "./identity.js";

export type { DriftReason } from "./destination.js";

/**
 * Every road coho knows, by destination `type`. A new road is a folder under
 * src/destinations/, an entry here, and its schema entry; nothing else changes.
 */
function roadOf<C extends DestinationConfig>(config: C): DestinationRoad<C> {
  switch (config.type) {
    case "braze_cohorts":
      return BRAZE_COHORTS as unknown as DestinationRoad<C>;
    case "braze_attributes":
      return BRAZE_ATTRIBUTES as unknown as DestinationRoad<C>;
  }
}

export function openClient(config: DestinationConfig, options: ClientOptions): DestinationClient {
  return roadOf(config).open(config, options);
}

export function estimateCost(config: DestinationConfig, work: MembershipWork): CostEstimate {
  return roadOf(config).estimate(config, work);
}

export function targetOf(config: DestinationConfig, cohort: CohortConfig): string | undefined {
  return roadOf(config).targetOf(cohort);
}

/** Member changes per request on this destination (the packing apply uses). */
export function requestSizeOf(config: DestinationConfig): number {
  return roadOf(config).requestSize(config);
}

/** Which cohorts of this destination share requests (equal keys), undefined when this one never does. */
export function mergeKeyOf(config: DestinationConfig, target: string | undefined): string | undefined {
  return roadOf(config).mergeKey?.(target);
}

/** The field of a merged object this target writes (one attribute update per user and field), undefined: none. */
export function mergeFieldOf(config: DestinationConfig, target: string | undefined): string | undefined {
  return roadOf(config).mergeField?.(target);
}

/**
 * Road-specific checks of every cohort, located by `at(cohort, field)`. Checks
 * across cohorts (two cohorts writing one attribute) take every cohort of one
 * workspace together, whichever destination name it goes through: two names for
 * one endpoint and key write the same profiles.
 */
export function validateCohortsByRoad(
  destinations: ReadonlyMap<string, DestinationConfig>,
  cohorts: readonly CohortConfig[],
  identifiers: ReadonlyMap<string, IdentifierConfig>,
  at: (cohort: CohortConfig, field: string) => SourceLocation | undefined,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const config of destinations.values()) {
    const road = roadOf(config);
    for (const cohort of cohorts.filter((c) => c.destination === config.name)) diagnostics.push(...road.validateCohort(config, cohort, identifiers.get(cohort.identifier), (field) => at(cohort, field)));
  }
  for (const [config, members] of byWorkspace(destinations, cohorts)) {
    diagnostics.push(...roadOf(config).validateCohorts(config, members, (cohort, field) => at(cohort, field)));
  }
  return diagnostics;
}

/** Every road's own guard verdicts, by cohort address (cohorts of the project, desired tables from the plan). */
export async function roadGuards(
  project: Pick<Project, "destinations" | "cohorts">,
  desiredTable: (address: string) => string | undefined,
  engine: DuckDbEngine,
): Promise<Map<string, GuardVerdict>> {
  const verdicts = new Map<string, GuardVerdict>();
  for (const [config, cohorts] of byWorkspace(project.destinations, [...project.cohorts.values()])) {
    const road = roadOf(config);
    if (!road.planGuards) continue;
    for (const [address, verdict] of await road.planGuards(config, cohorts, desiredTable, engine)) verdicts.set(address, verdict);
  }
  return verdicts;
}

/**
 * The cohorts of each workspace (see `workspacesOf`), with the config of its
 * first destination, renamed to name every destination that reaches it; where a
 * guard's limit differs between them, the road's `mergeWorkspace` keeps the strictest.
 */
function byWorkspace(destinations: ReadonlyMap<string, DestinationConfig>, cohorts: readonly CohortConfig[]): [DestinationConfig, CohortConfig[]][] {
  const workspace = workspacesOf(destinations);
  const groups = new Map<string, { configs: DestinationConfig[]; cohorts: CohortConfig[] }>();
  for (const config of [...destinations.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const id = workspace.get(config.name)!;
    const group = groups.get(id) ?? { configs: [], cohorts: [] };
    group.configs.push(config);
    groups.set(id, group);
  }
  for (const cohort of cohorts) {
    const id = workspace.get(cohort.destination);
    if (id !== undefined) groups.get(id)!.cohorts.push(cohort);
  }
  return [...groups.values()].map(({ configs, cohorts: members }) => {
    const first = configs[0]!;
    const merged = configs.length === 1 ? first : (roadOf(first).mergeWorkspace?.(configs) ?? first);
    return [merged, members];
  });
}

/** Sum of estimates (time adds up: cohorts of one destination share its rate limit). */
export function addCosts(costs: readonly CostEstimate[]): CostEstimate {
  const readBacks = costs.reduce((n, c) => n + (c.read_back_requests ?? 0), 0);
  return {
    requests: costs.reduce((n, c) => n + c.requests, 0),
    attribute_updates: costs.reduce((n, c) => n + c.attribute_updates, 0),
    seconds: Math.round(costs.reduce((n, c) => n + c.seconds, 0) * 1000) / 1000,
    ...(readBacks > 0 ? { read_back_requests: readBacks } : {}),
  };
}

/** Seconds that confirming additions takes (/users/export/ids at Braze's documented limit). */
export function readBackSeconds(requests: number): number {
  return (requests * 60) / EXPORT_REQUESTS_PER_MINUTE;
}

/** Whether a read-back value still says "member" for this binding; undefined when it does (or the road cannot tell). */
export function driftOf(config: DestinationConfig, target: string | undefined, value: ReadBackValue): DriftReason | undefined {
  return roadOf(config).drift?.(config, target, value);
}
