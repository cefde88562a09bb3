import type { RejectReason } from "./reject-reason.js";

/**
 * A plan: plain data. `actions` say what will happen; `reason` fields explain and
 * never decide. Renderers (human, JSON, markdown) only read it.
 */
export type Action = "create" | "adopt" | "update" | "delete" | "move" | "no-op";

/** Attributes an `update` can change. `members` only: a membership sync. */
export type ChangedAttribute = "name" | "destination" | "target" | "prevent_destroy" | "members" | "model" | "identifier" | "dbt_model" | "model_sql" | "dbt_refs";

export interface CohortAttributes {
  readonly name: string;
  readonly destination: string;
  readonly cohort_id: string;
  readonly prevent_destroy: boolean;
  readonly model: string;
  readonly identifier: string;
  /** Where membership is written inside the destination (attribute road: the attribute), when the road has such a binding. */
  readonly target?: string;
}

export type GuardName = "allow_empty" | "max_removals" | "prevent_destroy" | "max_deleted_instances" | "max_array_values";

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

/**
 * What applying costs at the destination: requests, attribute updates (data
 * points on Braze's legacy billing: one per attribute update) and the time the
 * requests take at the destination's rate limit. Equal to what apply sends.
 */
export interface CostEstimate {
  readonly requests: number;
  readonly attribute_updates: number;
  readonly seconds: number;
  /**
   * Read-back requests apply sends to confirm additions (braze_attributes with
   * missing_profiles: wait: /users/export/ids, 50 ids each, after each
   * /users/track request), when there are any. Not in `requests`; in `seconds`
   * at Braze's 250 per minute.
   */
  readonly read_back_requests?: number;
  /**
   * The cohorts this one shares requests with (one object per user across them,
   * e.g. the cohorts of one braze_attributes destination): requests and attribute updates are then
   * this cohort's share of the group's, and the shares add up to what it sends.
   */
  readonly shared_with?: readonly string[];
}

/**
 * What a warehouse source processed to plan: the bytes its dry runs reported for
 * the queries coho ran there (BigQuery bills on-demand queries by these bytes).
 */
export interface WarehouseCost {
  readonly source: string;
  readonly type: string;
  readonly bytes_processed: number;
  readonly queries: number;
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
  /** What applying this cohort costs (absent in plans before format 1.1). */
  readonly cost?: CostEstimate;
  /** Members Braze refused in the last apply: still pending, sent again. */
  readonly refused_last_apply?: number;
  /** Members the last apply sent that Braze did not confirm (no profile): not in state, among the additions again. */
  readonly unconfirmed_last_apply?: number;
  /**
   * Recorded members whose addition apply sends again (idempotent), so profiles
   * created since get the attribute: `coho apply --refresh`, or `refresh_every`
   * elapsed. Not among `members.add` (they are members already); in `cost`, and
   * on its own in `refresh.cost`.
   */
  readonly refresh?: { readonly members: number; readonly reason: string; readonly cost: CostEstimate };
  /** The dbt model behind the cohort's model, when it is one (`dbt:`). */
  readonly dbt?: DbtModelPlan;
  /** For a list of identifiers (first non-null per row): desired members per identifier, in the list's order. */
  readonly members_by_identifier?: Readonly<Record<string, number>>;
  /** The ref()/source() nodes of a plain-SQL model that changed since the last apply (moved, new checksum, newly or no longer read). */
  readonly dbt_refs?: readonly DbtRefChange[];
  /** Sample member keys, only with --show-members. */
  readonly samples?: { readonly add: readonly string[]; readonly remove: readonly string[] };
  /** For an instance of a cohort set: the set's address and this instance's key value. */
  readonly set?: { readonly address: string; readonly key: string };
}

export type KeyRejectReason = "null" | "empty" | "control_characters" | "too_long";

/** A cohort set (for_each) as a whole: what its one model run found. */
export interface SetPlan {
  readonly address: string;
  readonly model: string;
  readonly key_column: string;
  /** Rows the model returned (null when the set is only in state: no model ran). */
  readonly rows: number | null;
  /** Instances the configuration now asks for. */
  readonly instances: number;
  /** Rows whose key value was refused, by reason: distinct values and rows. */
  readonly rejected_keys: Readonly<Record<KeyRejectReason, { readonly values: number; readonly rows: number }>>;
  /** Key values the model returned that `keys:` does not list: ignored. */
  readonly ignored_keys: { readonly values: number; readonly rows: number; readonly sample: readonly string[] };
  /** Key values listed in `keys:` that the model did not return. */
  readonly missing_keys: readonly string[];
  readonly guards: readonly GuardVerdict[];
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

/** One ref()/source() node whose relation or checksum differs from the last apply. */
export interface DbtRefChange {
  readonly unique_id: string;
  /** Now: null when the SQL no longer reads it. */
  readonly relation: string | null;
  readonly checksum: string | null;
  /** At the last apply: null when it was not recorded then. */
  readonly previous: { readonly relation: string; readonly checksum: string } | null;
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

/** The version of the plan format (JSON, saved plans); schema/coho-plan.schema.json describes it. */
export const PLAN_FORMAT_VERSION = "1.1";

export interface Plan {
  readonly format: "coho-plan";
  readonly format_version: typeof PLAN_FORMAT_VERSION;
  readonly coho_version: string;
  readonly created_at: string;
  /** The environment (`--env`) the plan was made for, when coho.yaml declares environments; a saved plan applies only there. */
  readonly environment?: string;
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
  /** Total cost over all cohorts (absent in plans before format 1.1). */
  readonly cost?: CostEstimate;
  /** What warehouse sources processed to make this plan (absent when no such source ran a query). */
  readonly warehouse?: readonly WarehouseCost[];
  readonly cohorts: readonly CohortPlan[];
  /** Cohort sets in this plan (format 1.1); their instances are in `cohorts`. */
  readonly sets?: readonly SetPlan[];
}

/** A cohort whose members move: to another destination, or to another binding inside it. */
export function isRetarget(changed: readonly ChangedAttribute[]): boolean {
  return changed.includes("destination") || changed.includes("target");
}

/** Whether apply readies the cohort's container first (create, adopt, rename, re-target). */
export function needsPrepare(cohort: Pick<CohortPlan, "actions" | "changed_attributes" | "after">): boolean {
  if (cohort.after === null) return false;
  return cohort.actions.includes("create") || cohort.actions.includes("adopt") || cohort.changed_attributes.includes("name") || isRetarget(cohort.changed_attributes);
}

export function hasChanges(plan: Plan): boolean {
  return plan.cohorts.some((c) => !(c.actions.length === 1 && c.actions[0] === "no-op"));
}

/** One line per change, for the plan's reason and its renderers. */
export function dbtRefChangeText(change: DbtRefChange): string {
  if (change.relation === null) return `no longer reads ${change.unique_id}`;
  if (change.previous === null) return `reads ${change.unique_id} as ${change.relation}`;
  if (change.previous.relation !== change.relation) return `${change.unique_id} moved: ${change.previous.relation} → ${change.relation}`;
  return `${change.unique_id} changed: checksum ${change.previous.checksum} → ${change.checksum}`;
}
