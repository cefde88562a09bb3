import { addressMatches } from "../model/address.js";
import type { Action, ChangedAttribute, CohortAttributes } from "../model/plan.js";
import type { CohortConfig, Project } from "../model/project.js";
import type { CohortState, StateView } from "../model/state.js";

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
  project: Pick<Project, "cohorts" | "moved">,
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

  const decisions: ResourceDecision[] = [];
  for (const cohort of [...project.cohorts.values()].sort((a, b) => compare(a.address, b.address))) {
    const prior = recorded.get(cohort.address);
    if (!prior) {
      decisions.push(createOrAdopt(cohort, newCohortId));
      continue;
    }
    recorded.delete(cohort.address);
    if (cohort.cohortId !== undefined && cohort.cohortId !== prior.entry.cohort_id) {
      errors.push(
        `${cohort.address}: cohort_id is ${cohort.cohortId} in the config but ${prior.entry.cohort_id} in state; to switch Braze cohorts, forget this one first with \`coho state rm ${cohort.address}\``,
      );
    }
    decisions.push(existing(cohort, prior.entry, prior.movedFrom));
  }
  for (const [address, { entry, movedFrom }] of [...recorded].sort(([a], [b]) => compare(a, b))) {
    decisions.push({
      address,
      actions: ["delete"],
      reason: "not in the configuration: every member is removed, then the cohort is forgotten (Braze has no delete; the empty cohort stays listed in Braze)",
      ...(movedFrom ? { movedFrom } : {}),
      prior: entry,
      cohort: undefined,
      cohortId: entry.cohort_id,
      before: fromState(entry),
      after: null,
      changed: [],
    });
  }

  if (targets.length === 0) return { decisions, errors, warnings };
  // A set's address targets all its instances.
  const matched = (target: string) => setAddresses.includes(target) || decisions.some((d) => addressMatches(target, d.address));
  for (const target of targets) if (!matched(target)) errors.push(`--target ${target}: no such cohort in the configuration or the state`);
  return { decisions: decisions.filter((d) => targets.some((t) => addressMatches(t, d.address))), errors, warnings };
}

function createOrAdopt(cohort: CohortConfig, newCohortId: (key: string) => string): ResourceDecision {
  const adopt = cohort.cohortId !== undefined;
  const cohortId = cohort.cohortId ?? newCohortId(cohort.key);
  return {
    address: cohort.address,
    actions: [adopt ? "adopt" : "create"],
    reason: adopt
      ? `cohort_id ${cohortId} is not in state: coho takes over that existing Braze cohort and sends the members it lacks (Braze cannot be asked what it holds, so every member is sent)`
      : "not in state: a new Braze cohort is created",
    prior: undefined,
    cohort,
    cohortId,
    before: null,
    after: fromConfig(cohort, cohortId),
    changed: [],
  };
}

function existing(cohort: CohortConfig, prior: CohortState, movedFrom: string | undefined): ResourceDecision {
  const after = fromConfig(cohort, prior.cohort_id);
  const before = fromState(prior);
  const changed: ChangedAttribute[] = [];
  if (before.name !== after.name) changed.push("name");
  if (before.destination !== after.destination) changed.push("destination");
  if (before.prevent_destroy !== after.prevent_destroy) changed.push("prevent_destroy");
  if (before.model !== after.model) changed.push("model");
  if (before.identifier !== after.identifier) changed.push("identifier");
  const actions: Action[] = [];
  if (movedFrom) actions.push("move");
  if (changed.length > 0) actions.push("update");
  const reasons: string[] = [];
  if (movedFrom) reasons.push(`moved from ${movedFrom}: same Braze cohort, new address`);
  if (changed.includes("name")) reasons.push(`renamed in Braze: "${before.name}" → "${after.name}"`);
  if (changed.includes("destination")) reasons.push(`destination ${before.destination} → ${after.destination}: members leave the old workspace's cohort and join the new one`);
  if (changed.includes("prevent_destroy")) reasons.push(`prevent_destroy ${before.prevent_destroy} → ${after.prevent_destroy} (recorded in state only)`);
  if (changed.includes("model")) reasons.push(`model ${before.model} → ${after.model}`);
  if (changed.includes("identifier")) reasons.push(`identifier ${before.identifier} → ${after.identifier}`);
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

function fromConfig(cohort: CohortConfig, cohortId: string): CohortAttributes {
  return { name: cohort.name, destination: cohort.destination, cohort_id: cohortId, prevent_destroy: cohort.preventDestroy, model: cohort.model, identifier: cohort.identifier };
}

function fromState(entry: CohortState): CohortAttributes {
  return { name: entry.name, destination: entry.destination, cohort_id: entry.cohort_id, prevent_destroy: entry.prevent_destroy, model: entry.model.name, identifier: entry.identifier.name };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
