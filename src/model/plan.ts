import type { RejectReason } from "./reject-reason.js";

/**
 * A plan: plain data. `actions` say what will happen; `reason` fields explain and
 * never decide. Renderers (human, JSON, markdown) only read it.
 */
export type Action = "create" | "adopt" | "update" | "delete" | "move" | "no-op";

/** Attributes an `update` can change. `members` only: a membership sync. */
export type ChangedAttribute = "name" | "destination" | "prevent_destroy" | "members" | "model" | "identifier" | "dbt_model";

export interface CohortAttributes {
  readonly name: string;
  readonly destination: string;
  readonly cohort_id: string;
  readonly prevent_destroy: boolean;
  readonly model: string;
  readonly identifier: string;
}

export type GuardName = "allow_empty" | "max_removals" | "prevent_destroy";

export interface GuardVerdict {
  readonly guard: GuardName;
  /** pass: fine. blocked: the plan cannot be applied. overridden: blocked, but --allow-removals was given. */
  readonly status: "pass" | "blocked" | "overridden";
  readonly message: string;
}

export interface MemberCounts {
  readonly before: number;
  readonly after: number;
  readonly add: number;
  readonly remove: number;
}

export interface CohortPlan {
  readonly address: string;
  readonly actions: readonly Action[];
  readonly reason: string;
  /** The address this cohort had in state, when a `moved` block renames it. */
  readonly moved_from?: string;
  readonly before: CohortAttributes | null;
  readonly after: CohortAttributes | null;
  readonly changed_attributes: readonly ChangedAttribute[];
  readonly members: MemberCounts;
  /** Rows the model returned (null for deletes: no model runs). */
  readonly rows: number | null;
  readonly rejected: Readonly<Record<RejectReason, number>>;
  readonly guards: readonly GuardVerdict[];
  /** Unified diff of the model SQL since the last apply, when it changed. */
  readonly sql_diff?: string;
  /** The dbt model behind the cohort's model, when it is one (`dbt:`). */
  readonly dbt?: DbtModelPlan;
  /** Sample member keys, only with --show-members. */
  readonly samples?: { readonly add: readonly string[]; readonly remove: readonly string[] };
}

export interface DbtModelPlan {
  readonly unique_id: string;
  readonly checksum: string;
  readonly relation: string;
  /** The node as last applied; present only when it changed (checksum or unique_id). */
  readonly previous?: { readonly unique_id: string; readonly checksum: string };
  /** Unified diff of dbt's compiled_code since the last apply, when both manifests had it. */
  readonly compiled_diff?: string;
}

export interface PlanSummary {
  readonly create: number;
  readonly adopt: number;
  readonly update: number;
  readonly delete: number;
  readonly move: number;
  readonly no_op: number;
  readonly members_add: number;
  readonly members_remove: number;
}

export interface Plan {
  readonly format: "coho-plan";
  readonly format_version: "1.0";
  readonly coho_version: string;
  readonly created_at: string;
  readonly state: { readonly lineage: string | null; readonly serial: number };
  readonly config_digest: string;
  /** False when a guard blocks it (and was not overridden). */
  readonly applyable: boolean;
  /** Cohorts left out by --target: the plan is partial. */
  readonly targets: readonly string[];
  readonly allow_removals: boolean;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  readonly summary: PlanSummary;
  readonly cohorts: readonly CohortPlan[];
}

export function hasChanges(plan: Plan): boolean {
  return plan.cohorts.some((c) => !(c.actions.length === 1 && c.actions[0] === "no-op"));
}
