import type { DbtModelPlan } from "../model/plan.js";
import type { ModelConfig } from "../model/project.js";
import type { CohortState, DbtModelState } from "../model/state.js";
import { sqlDiff } from "../util/sql-diff.js";

/**
 * What the plan says about a cohort's dbt model: the node it reads now and,
 * when its unique_id or checksum differs from the last apply, the node then and
 * a diff of dbt's compiled SQL (when both manifests carried compiled_code).
 */
export function dbtModelPlan(model: ModelConfig, prior: CohortState | undefined): DbtModelPlan | undefined {
  const node = model.dbt?.model;
  if (!node) return undefined;
  const then = prior?.model.dbt;
  const current = { unique_id: node.uniqueId, checksum: node.checksum, relation: node.relation };
  if (!then || (then.unique_id === node.uniqueId && then.checksum === node.checksum)) return current;
  const diff = node.compiledCode !== undefined ? sqlDiff(`${node.name} compiled`, then.compiled_code, node.compiledCode) : undefined;
  return { ...current, previous: { unique_id: then.unique_id, checksum: then.checksum }, ...(diff ? { compiled_diff: diff } : {}) };
}

/**
 * True when the dbt node behind a model is another, its file changed, or dbt
 * now builds it as another relation (a new alias or schema: the SQL coho runs
 * differs), since the last apply. Apply then records the node as it is now.
 */
export function dbtModelChanged(model: Pick<ModelConfig, "dbt" | "sql">, then: CohortState["model"]): boolean {
  const node = model.dbt?.model;
  if (!node) return false;
  const recorded = then.dbt;
  return recorded === undefined || recorded.unique_id !== node.uniqueId || recorded.checksum !== node.checksum || then.sql !== model.sql;
}

/** The lockfile record of a dbt model: followed by unique_id, compared by checksum. */
export function dbtModelState(model: ModelConfig): DbtModelState | undefined {
  const node = model.dbt?.model;
  if (!node) return undefined;
  return { unique_id: node.uniqueId, checksum: node.checksum, ...(node.compiledCode !== undefined ? { compiled_code: node.compiledCode } : {}) };
}
