import { instanceAddress, parseAddress } from "../model/address.js";
import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";
import { DiagnosticsError } from "../model/errors.js";
import type { KeyRejectReason, SetPlan } from "../model/plan.js";
import type { CohortConfig, DestinationConfig, MovedBlock, Project } from "../model/project.js";
import type { StateView } from "../model/state.js";
import { renderBinding, renderTemplate } from "../model/template.js";
import { targetOf, validateCohortsByRoad } from "../destinations/roads.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { extractGroupedMembers, type GroupedMembers } from "../sources/extract-grouped-members.js";
import type { ModelRuns } from "./model-runs.js";
import { onForks } from "../sources/on-forks.js";

const COHORT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_NAME_LENGTH = 255;
/** What a cohort name may not hold (as in the config schema): control and bidirectional-text characters. */
const UNSAFE_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** A set's one model run: the members of every key value. */
export interface SetRun {
  readonly set: CohortConfig;
  readonly extracted: GroupedMembers;
}

export interface ExpandedProject {
  /** Ordinary cohorts plus one cohort per instance of each planned set. */
  readonly cohorts: ReadonlyMap<string, CohortConfig>;
  /** `moved` with whole-set moves spelled out per recorded instance. */
  readonly moved: readonly MovedBlock[];
  readonly runs: ReadonlyMap<string, SetRun>;
  /** Per planned set, keyed by set address (guards are added later). */
  readonly sets: ReadonlyMap<string, Omit<SetPlan, "guards">>;
  /**
   * Instances recorded in state of sets no target touches (their model did not
   * run): rendered from their key values, for guards that count every cohort
   * sharing something (the array cap), never planned.
   */
  readonly recordedInstances: readonly CohortConfig[];
}

/**
 * Turns each cohort set into its instances by running its model once. Sets no
 * target touches are left out (their recorded instances then plan as usual, and
 * --target filters them away). Instances get rendered names and cohort ids.
 */
export async function expandSets(
  project: Pick<Project, "cohorts" | "moved" | "models" | "identifiers" | "destinations">,
  state: StateView,
  engine: DuckDbEngine,
  modelRuns: ModelRuns,
  targets: readonly string[],
): Promise<ExpandedProject> {
  const cohorts = new Map<string, CohortConfig>();
  const runs = new Map<string, SetRun>();
  const sets = new Map<string, Omit<SetPlan, "guards">>();
  const planned = [...project.cohorts.values()].filter((cohort) => cohort.forEach && setInPlay(cohort, targets));
  // Sets' models run side by side; instances are then listed in declaration order.
  const extracted = await onForks(engine, planned, async (fork, set) => {
    const rows = await modelRuns.rows(fork, set.model);
    return extractGroupedMembers(fork, rows, project.identifiers.get(set.identifier)!, set.forEach!.keyColumn);
  });
  const bySet = new Map(planned.map((set, i) => [set.key, extracted[i]!]));
  for (const cohort of project.cohorts.values()) {
    if (!cohort.forEach) {
      cohorts.set(cohort.address, cohort);
      continue;
    }
    const members = bySet.get(cohort.key);
    if (!members) continue;
    runs.set(cohort.key, { set: cohort, extracted: members });
    const { instances, report } = instancesOf(cohort, members, project.destinations);
    for (const instance of instances) cohorts.set(instance.address, instance);
    sets.set(cohort.address, report);
  }
  checkNameCollisions([...cohorts.values()], project.cohorts);
  if (sets.size > 0) checkRenderedBindings(project, cohorts);
  const unexpanded = [...project.cohorts.values()].filter((c) => c.forEach && !runs.has(c.key));
  const recordedInstances = unexpanded.flatMap((set) => recordedInstancesOf(set, state, project.destinations));
  return { cohorts, moved: expandMoved(project.moved, state, project.cohorts), runs, sets, recordedInstances };
}

/** Sets no target touches are left out (their recorded instances then plan as usual, and --target filters them away). */
export function setInPlay(set: CohortConfig, targets: readonly string[]): boolean {
  return targets.length === 0 || targets.some((t) => parseAddress(t)?.cohort === set.key);
}

function instancesOf(set: CohortConfig, extracted: GroupedMembers, destinations: ReadonlyMap<string, DestinationConfig>): { instances: CohortConfig[]; report: Omit<SetPlan, "guards"> } {
  const forEach = set.forEach!;
  const listed = forEach.keys === undefined ? undefined : new Set(forEach.keys);
  const instances: CohortConfig[] = [];
  const ignored: string[] = [];
  let ignoredRows = 0;
  for (const [key, stats] of [...extracted.groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (listed && !listed.has(key)) {
      ignored.push(key);
      ignoredRows += stats.rows;
      continue;
    }
    instances.push(instanceOf(set, key, stats.label, destinations));
  }
  const report = {
    address: set.address,
    model: set.model,
    key_column: forEach.keyColumn,
    rows: extracted.rows,
    instances: instances.length,
    rejected_keys: extracted.rejectedKeys as Record<KeyRejectReason, { values: number; rows: number }>,
    ignored_keys: { values: ignored.length, rows: ignoredRows, sample: ignored.slice(0, 10) },
    missing_keys: (forEach.keys ?? []).filter((k) => !extracted.groups.has(k)),
  };
  return { instances, report };
}

function instanceOf(set: CohortConfig, key: string, label: string | undefined, destinations: ReadonlyMap<string, DestinationConfig>): CohortConfig {
  const forEach = set.forEach!;
  const address = instanceAddress(set.key, key);
  const name = renderTemplate(set.name, { key, label });
  if (name.length > MAX_NAME_LENGTH || name.trim() === "") {
    const what = name.trim() === "" ? "blank" : `${name.length} characters long (Braze allows ${MAX_NAME_LENGTH}); shorten the template or filter long key values in the model`;
    throw setError("config.set_name", `${set.address}: the name of ${address} would be ${what}`, forEach.nameOrigin);
  }
  if (UNSAFE_NAME.test(name)) {
    throw setError("config.set_name", `${set.address}: the name of ${address} would hold a control or bidirectional-text character (from its key value or label), which could forge or hide text in plan output; clean the values in the model`, forEach.nameOrigin);
  }
  const cohortId = set.cohortId === undefined ? undefined : renderTemplate(set.cohortId, { key, label });
  if (cohortId !== undefined && !COHORT_ID.test(cohortId)) {
    throw setError("config.set_cohort_id", `${set.address}: the cohort_id of ${address} would be ${JSON.stringify(cohortId)}, which is not 1 to 128 letters, digits, dots, colons, underscores or dashes`, set.cohortIdOrigin);
  }
  return { ...bindInstance(set, address, key, label, destinations), name, cohortId };
}

/**
 * The set's fields for one instance, with its attribute rendered and the road's
 * binding taken from it: a key whose rendered attribute changes is a re-target.
 */
function bindInstance(set: CohortConfig, address: string, key: string, label: string | undefined, destinations: ReadonlyMap<string, DestinationConfig>): CohortConfig {
  const { forEach: _forEach, target: _target, ...rest } = set;
  const attribute = set.attribute && renderBinding(set.attribute, { key, label });
  const instanceOf = { set: set.key, key, label, ...(set.attribute ? { attributeTemplate: set.attribute } : {}) };
  const instance: CohortConfig = { ...rest, key: `${set.key}_${slug(key)}`, address, ...(attribute ? { attribute } : {}), instanceOf };
  const config = destinations.get(set.destination);
  const target = config ? targetOf(config, instance) : undefined;
  return target === undefined ? instance : { ...instance, target };
}

/**
 * Rendered bindings are checked like written ones, by their road: names and
 * values as Braze takes them, and no two cohorts (instances or ordinary) writing
 * one boolean attribute or one array value. Errors alike (one template, many
 * keys) are reported once, with a count.
 */
function checkRenderedBindings(project: Pick<Project, "destinations" | "identifiers">, cohorts: ReadonlyMap<string, CohortConfig>): void {
  const diagnostics = validateCohortsByRoad(project.destinations, [...cohorts.values()], project.identifiers, (cohort, field) => (field === "attribute" ? cohort.attributeOrigin : undefined) ?? cohort.origin);
  const errors = new Map<string, { first: Diagnostic; more: number }>();
  for (const diagnostic of diagnostics) {
    if (diagnostic.severity !== "error") continue;
    const alike = `${diagnostic.code}\u0000${JSON.stringify(diagnostic.location)}`;
    const seen = errors.get(alike);
    if (seen) seen.more += 1;
    else errors.set(alike, { first: diagnostic, more: 0 });
  }
  if (errors.size === 0) return;
  throw new DiagnosticsError([...errors.values()].map(({ first, more }) => (more === 0 ? first : { ...first, message: `${first.message} (and ${more} more alike)` })));
}

/** The recorded instances of a set that is not expanded in this plan, rendered from their key values (labels are not known: the key stands in). */
function recordedInstancesOf(set: CohortConfig, state: StateView, destinations: ReadonlyMap<string, DestinationConfig>): CohortConfig[] {
  return Object.keys(state.cohorts).flatMap((address) => {
    const parsed = parseAddress(address);
    if (parsed?.cohort !== set.key || parsed.instance === undefined) return [];
    return [bindInstance(set, address, parsed.instance, undefined, destinations)];
  });
}

/** A set whose rendered values do not fit: a configuration error at the template. */
function setError(code: string, message: string, location: SourceLocation | undefined): DiagnosticsError {
  return new DiagnosticsError([{ severity: "error", code, message, ...(location ? { location } : {}) }]);
}

/** A readable, URL-safe fragment of a key value for generated cohort ids. */
function slug(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 24) || "key";
}

/** Two instances (or an instance and a cohort) with one name in one workspace could not be told apart in Braze. */
function checkNameCollisions(cohorts: readonly CohortConfig[], declared: ReadonlyMap<string, CohortConfig>): void {
  const seen = new Map<string, CohortConfig>();
  for (const cohort of cohorts) {
    const id = `${cohort.destination}\u0000${cohort.name}`;
    const other = seen.get(id);
    if (other && (cohort.instanceOf || other.instanceOf)) {
      const instance = cohort.instanceOf ? cohort : other;
      const set = instance.instanceOf!.set;
      const message = `cohorts.${set}: ${other.address} and ${cohort.address} would both be named "${cohort.name}" in destination ${cohort.destination}; make the name template tell them apart, e.g. with {key}`;
      throw setError("config.set_name_collision", message, declared.get(set)?.forEach?.nameOrigin ?? instance.origin);
    }
    seen.set(id, cohort);
  }
}

/** A move of a whole set (cohorts.old → cohorts.new) moves every recorded instance. */
function expandMoved(moved: readonly MovedBlock[], state: StateView, declared: ReadonlyMap<string, CohortConfig>): MovedBlock[] {
  const out: MovedBlock[] = [];
  for (const block of moved) {
    const to = parseAddress(block.to);
    if (to?.instance !== undefined || !declared.get(to?.cohort ?? "")?.forEach) {
      out.push(block);
      continue;
    }
    for (const address of Object.keys(state.cohorts).sort()) {
      const from = parseAddress(address);
      if (from?.instance === undefined || `cohorts.${from.cohort}` !== block.from) continue;
      out.push({ from: address, to: instanceAddress(to!.cohort, from.instance), origin: block.origin });
    }
  }
  return out;
}
