import { addressMatches } from "../model/address.js";
import { dbtRefChangeText, type Action, type ChangedAttribute, type CohortAttributes } from "../model/plan.js";
import type { SourceLocation } from "../model/diagnostic.js";
import type { CohortConfig, ModelConfig, Project } from "../model/project.js";
import type { CohortState, StateView } from "../model/state.js";
import { didYouMean } from "../util/suggest.js";
import { destinationIdentity } from "../destinations/identity.js";
import { dbtModelChanged, dbtRefChanges } from "../dbt/plan-info.js";

/** What happens to one cohort address, before membership is known. */
export interface ResourceDecision {
  readonly address: string;
  readonly actions: readonly Action[];
  readonly reason: string;
  readonly movedFrom?: string;
  /** The recorded state (under its old address when moved); undefined for create/adopt. */
  readonly prior: CohortState | undefined;
  /** The desired cohort; undefined for delete. */
  readonly cohort: CohortConfig | undefined;
  /** The Braze cohort_id the changes go to. */
  readonly cohortId: string;
  readonly before: CohortAttributes | null;
  readonly after: CohortAttributes | null;
  /** Resource attributes that change (membership is decided later). */
  readonly changed: readonly ChangedAttribute[];
}

export interface ResourcePlan {
  readonly decisions: readonly ResourceDecision[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Resource actions per cohort address: a pure function of config and state.
 * `newCohortId` is injected so tests (and saved plans) are deterministic.
 */
export function planResources(
  project: PlannedProject,
  state: StateView,
  newCohortId: (key: string) => string,
  targets: readonly string[] = [],
  /** Addresses a target may name besides the decisions' (cohort sets, which have no decision of their own). */
  setAddresses: readonly string[] = [],
): ResourcePlan {
  const errors: string[] = [];
  const warnings: string[] = [];
  const recorded = new Map<string, { entry: CohortState; movedFrom?: string }>(Object.entries(state.cohorts).map(([a, entry]) => [a, { entry }]));

  for (const block of project.moved) {
    const from = recorded.get(block.from);
    if (!from) continue; // applied already, or never existed: nothing to move
    if (recorded.has(block.to)) {
      warnings.push(`moved: ${block.from} → ${block.to} is ignored because state already has ${block.to}`);
      continue;
    }
    recorded.delete(block.from);
    recorded.set(block.to, { entry: from.entry, movedFrom: block.from });
  }

  errors.push(...cohortIdConflicts(project, recorded));
  const decisions: ResourceDecision[] = [];
  for (const cohort of [...project.cohorts.values()].sort((a, b) => compare(a.address, b.address))) {
    const prior = recorded.get(cohort.address);
    if (!prior) {
      const decision = createOrAdopt(cohort, newCohortId);
      if (decision.actions[0] === "adopt") warnings.push(`${cohort.address} adopts Braze cohort ${decision.cohortId}: ${ADOPT_UNKNOWN_MEMBERS}`);
      decisions.push(decision);
      continue;
    }
    recorded.delete(cohort.address);
    if (cohort.cohortId !== undefined && cohort.cohortId !== prior.entry.cohort_id) {
      errors.push(
        `${cohort.address}: cohort_id is ${cohort.cohortId} in the config but ${prior.entry.cohort_id} in state; to switch Braze cohorts, forget this one first with \`coho state rm ${cohort.address}\``,
      );
    }
    decisions.push(existing(cohort, prior.entry, prior.movedFrom, project.models, identityOf(project, cohort.destination)));
  }
  for (const [address, { entry, movedFrom }] of [...recorded].sort(([a], [b]) => compare(a, b))) {
    decisions.push({
      address,
      actions: ["delete"],
      reason: `not in the configuration: ${deleteEffect(entry)}`,
      ...(movedFrom ? { movedFrom } : {}),
      prior: entry,
      cohort: undefined,
      cohortId: entry.cohort_id,
      before: fromState(entry),
      after: null,
      changed: [],
    });
  }

  // A set's address targets all its instances.
  const matched = (target: string) => setAddresses.includes(target) || decisions.some((d) => addressMatches(target, d.address));
  const known = [...setAddresses, ...decisions.map((d) => d.address)];
  for (const target of targets) if (!matched(target)) errors.push(`--target ${target}: no such cohort in the configuration or the state${suggestTarget(target, known)}`);
  const planned = targets.length === 0 ? decisions : decisions.filter((d) => targets.some((t) => addressMatches(t, d.address)));
  // Only the changes this plan makes need their old destination.
  errors.push(...missingOldDestinations(project, planned));
  return { decisions: planned, errors, warnings };
}

/**
 * Braze cannot list a cohort's members, so an adopted cohort's earlier members are
 * invisible to coho: the member counts start from what coho sends, not from what
 * Braze holds. Said in every view of the plan, because later plans cannot show it.
 */
export const ADOPT_UNKNOWN_MEMBERS =
  "members the cohort already holds in Braze are unknown to coho (Braze cannot list them): they stay in the cohort until removed, and member counts here cover only what coho sends. To start clean, see docs/plans.md, \"Adopting an existing Braze cohort\"";

/**
 * The config's view planResources needs. `destinations` (when given) lets it refuse
 * changes that need a destination the config no longer has; `dir` makes locations
 * in messages relative to the project.
 */
export type PlannedProject = Pick<Project, "cohorts" | "moved"> & Partial<Pick<Project, "destinations" | "dir" | "models">>;

type Recorded = ReadonlyMap<string, { readonly entry: CohortState; readonly movedFrom?: string }>;

/**
 * A cohort_id written in the config that state already records under another
 * address (after `moved` blocks): both addresses would drive one Braze cohort,
 * the second renaming it and removing the first's members.
 */
function cohortIdConflicts(project: PlannedProject, recorded: Recorded): string[] {
  const errors: string[] = [];
  for (const cohort of [...project.cohorts.values()].sort((a, b) => compare(a.address, b.address))) {
    if (cohort.cohortId === undefined) continue;
    for (const [address, { entry }] of recorded) {
      if (address === cohort.address || entry.cohort_id !== cohort.cohortId) continue;
      errors.push(
        `${where(project.dir, cohort.cohortIdOrigin ?? cohort.origin)}${cohort.address}: cohort_id ${cohort.cohortId} is already held in state by ${address}; ` +
          `one Braze cohort may belong to one address only. To give it to ${cohort.address}, use a \`moved\` block (${address} → ${cohort.address}) or \`coho state rm ${address}\` first`,
      );
    }
  }
  return errors;
}

/**
 * Deleting a cohort removes its members through the destination state recorded,
 * and a re-target removes them from the old one: with that destination gone from
 * the config, the plan could never be applied. Refuse it now, before apply.
 */
function missingOldDestinations(project: PlannedProject, decisions: readonly ResourceDecision[]): string[] {
  if (!project.destinations) return [];
  const errors: string[] = [];
  for (const decision of decisions) {
    const prior = decision.prior;
    const leaving = decision.cohort === undefined || decision.changed.includes("destination");
    if (!prior || !leaving || project.destinations.has(prior.destination)) continue;
    const what = decision.cohort === undefined ? "is deleted (not in the configuration)" : `moves to destination ${decision.cohort.destination}`;
    errors.push(
      `${decision.address} (in state) ${what}, but its members must first be removed through destination ${prior.destination}, which is no longer configured; ` +
        `keep destinations.${prior.destination} in the configuration until this change is applied, then remove it`,
    );
  }
  return errors;
}

/** `coho.yaml:12:16: ` — a location prefix for plan messages, relative to the project. */
function where(dir: string | undefined, location: SourceLocation): string {
  const file = dir !== undefined && location.file.startsWith(`${dir}/`) ? location.file.slice(dir.length + 1) : location.file;
  return `${file}:${location.line}:${location.column}: `;
}

function createOrAdopt(cohort: CohortConfig, newCohortId: (key: string) => string): ResourceDecision {
  const adopt = cohort.cohortId !== undefined;
  const cohortId = cohort.cohortId ?? newCohortId(cohort.key);
  return {
    address: cohort.address,
    actions: [adopt ? "adopt" : "create"],
    reason: adopt
      ? `cohort_id ${cohortId} is not in state: coho takes over that existing Braze cohort and sends every member the model selects (Braze cannot be asked what it holds); ${ADOPT_UNKNOWN_MEMBERS}`
      : cohort.attribute
        ? `not in state: coho starts writing ${bindingWords(cohort.attribute)} for its members (no Braze cohort exists on this road)`
        : "not in state: a new Braze cohort is created",
    prior: undefined,
    cohort,
    cohortId,
    before: null,
    after: fromConfig(cohort, cohortId),
    changed: [],
  };
}

/** The attribute road's binding in words, for the plan's "why". */
function bindingWords(binding: NonNullable<CohortConfig["attribute"]>): string {
  return binding.kind === "boolean" ? `the boolean attribute ${binding.name}` : `the value "${binding.value}" of the array attribute ${binding.name}`;
}

/** The workspace a configured destination reaches now, when the config's destinations are known. */
function identityOf(project: PlannedProject, destination: string): string | undefined {
  const config = project.destinations?.get(destination);
  return config && "type" in config ? destinationIdentity(config) : undefined;
}

function existing(
  cohort: CohortConfig,
  prior: CohortState,
  movedFrom: string | undefined,
  models: Project["models"] | undefined,
  identity: string | undefined,
): ResourceDecision {
  const after = fromConfig(cohort, prior.cohort_id);
  const before = fromState(prior);
  const changed: ChangedAttribute[] = [];
  // Same destination name, another workspace behind it (rest_endpoint or partner changed).
  const sameNameRetarget = before.destination === after.destination && prior.destination_identity !== undefined && identity !== undefined && prior.destination_identity !== identity;
  if (before.name !== after.name) changed.push("name");
  if (before.destination !== after.destination || sameNameRetarget) changed.push("destination");
  else if (before.target !== after.target) changed.push("target");
  if (before.prevent_destroy !== after.prevent_destroy) changed.push("prevent_destroy");
  if (before.model !== after.model) changed.push("model");
  if (before.identifier !== after.identifier) changed.push("identifier");
  // A dbt model is followed by unique_id (a rename of its relation is an update, never a destroy);
  // a new checksum is recorded by apply even when no member changes.
  const model = models?.get(cohort.model);
  if (model && dbtModelChanged(model, prior.model)) changed.push("dbt_model");
  // The plan compares model SQL with the text last applied: a new text is recorded even when no member changes
  // (a dbt model's new SQL is part of dbt_model); so are the ref()/source() nodes a plain-SQL model reads.
  else if (model && model.sql !== prior.model.sql) changed.push("model_sql");
  const refChanges = model ? dbtRefChanges(model, prior.model) : [];
  if (refChanges.length > 0) changed.push("dbt_refs");
  const actions: Action[] = [];
  if (movedFrom) actions.push("move");
  if (changed.length > 0) actions.push("update");
  const reasons: string[] = [];
  if (movedFrom) reasons.push(`moved from ${movedFrom}: same Braze cohort, new address`);
  // The attribute road (a binding in target) has no cohort name in Braze: the name is coho's own.
  if (changed.includes("name")) reasons.push(before.target === undefined ? `renamed in Braze: "${before.name}" → "${after.name}"` : `renamed: "${before.name}" → "${after.name}" (recorded in state only: Braze keeps no name for an attribute)`);
  if (sameNameRetarget) {
    reasons.push(
      `destination ${after.destination} now reaches ${identity} (state: ${prior.destination_identity}): re-target — the cohort is created there and every member sent; ` +
        "the workspace it leaves is no longer configured, so coho cannot remove the members it holds there (remove them in that workspace, or keep it configured under another name and re-target in two steps)",
    );
  } else if (changed.includes("destination")) {
    reasons.push(`destination ${before.destination} → ${after.destination}: members leave the old workspace's cohort and join the new one`);
  }
  if (changed.includes("target")) reasons.push(`re-target ${before.target ?? "(none)"} → ${after.target ?? "(none)"}: every member is removed from the old and added to the new`);
  if (changed.includes("prevent_destroy")) reasons.push(`prevent_destroy ${before.prevent_destroy} → ${after.prevent_destroy} (recorded in state only)`);
  if (changed.includes("model")) reasons.push(`model ${before.model} → ${after.model}`);
  if (changed.includes("identifier")) reasons.push(`identifier ${before.identifier} → ${after.identifier}`);
  if (changed.includes("dbt_model")) reasons.push(dbtReason(prior, model!));
  if (changed.includes("model_sql")) reasons.push(`model ${after.model}'s SQL changed since the last apply: the new text is recorded`);
  if (refChanges.length > 0) reasons.push(`dbt: ${refChanges.map(dbtRefChangeText).join("; ")}`);
  return {
    address: cohort.address,
    actions: actions.length === 0 ? ["no-op"] : actions,
    reason: reasons.length === 0 ? "matches state" : reasons.join("; "),
    ...(movedFrom ? { movedFrom } : {}),
    prior,
    cohort,
    cohortId: prior.cohort_id,
    before,
    after,
    changed,
  };
}

function dbtReason(prior: CohortState, model: ModelConfig): string {
  const node = model.dbt!.model!;
  const then = prior.model.dbt;
  if (!then) return `now reads dbt model ${node.uniqueId}`;
  if (then.unique_id !== node.uniqueId) return `dbt model ${then.unique_id} → ${node.uniqueId}`;
  if (then.checksum !== node.checksum) return `dbt model changed: ${node.uniqueId} checksum ${short(then.checksum)} → ${short(node.checksum)}`;
  return `dbt model ${node.uniqueId} is now built as ${node.relation}: same unique_id, so the cohort follows it`;
}

/** `sha256:0123456789ab`: enough of a checksum to tell two apart in a sentence. */
function short(checksum: string): string {
  const [name, hex = ""] = checksum.split(":");
  return `${name}:${hex.slice(0, 12)}`;
}

function fromConfig(cohort: CohortConfig, cohortId: string): CohortAttributes {
  return { name: cohort.name, destination: cohort.destination, cohort_id: cohortId, prevent_destroy: cohort.preventDestroy, model: cohort.model, identifier: cohort.identifier, ...(cohort.target === undefined ? {} : { target: cohort.target }) };
}

function fromState(entry: CohortState): CohortAttributes {
  return { name: entry.name, destination: entry.destination, cohort_id: entry.cohort_id, prevent_destroy: entry.prevent_destroy, model: entry.model.name, identifier: entry.identifier.name, ...(entry.target === undefined ? {} : { target: entry.target }) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What deleting a cohort does on its road: Cohort Import leaves an empty cohort listed; the attribute road clears the attribute. */
export function deleteEffect(entry: CohortState): string {
  return entry.target === undefined
    ? "every member is removed, then the cohort is forgotten (Braze has no delete; the empty cohort stays listed in Braze)"
    : "the attribute is cleared on every member, then the cohort is forgotten";
}

/**
 * "; did you mean `cohorts.recent_buyers`?" for a mistyped --target. Keys are
 * compared without the shared `cohorts.` prefix, which would otherwise make
 * every address look close to every other.
 */
function suggestTarget(target: string, known: readonly string[]): string {
  const key = (address: string) => address.replace(/^cohorts\./, "");
  const byKey = new Map(known.map((address) => [key(address), address]));
  const hint = didYouMean(key(target), byKey.keys());
  const match = /`(.*)`/.exec(hint)?.[1];
  return match === undefined ? "" : `; did you mean \`${byKey.get(match)}\`?`;
}
