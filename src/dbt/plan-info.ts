import type { DbtModelPlan, DbtRefChange } from "../model/plan.js";
import type { ModelConfig } from "../model/project.js";
import type { CohortState, DbtModelState, DbtRefState } from "../model/state.js";
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

/**
 * The lockfile record of a plain-SQL model's ref()/source() nodes (unique_id
 * order, each once); undefined for `dbt:` models (recorded as `dbt`) and plain SQL.
 */
export function dbtRefsState(model: Pick<ModelConfig, "dbt">): DbtRefState[] | undefined {
  const dbt = model.dbt;
  if (!dbt || dbt.model || dbt.dependsOn.length === 0) return undefined;
  const byId = new Map<string, DbtRefState>();
  for (const node of dbt.dependsOn) byId.set(node.uniqueId, { unique_id: node.uniqueId, checksum: node.checksum, relation: node.relation });
  return [...byId.values()].sort((a, b) => (a.unique_id < b.unique_id ? -1 : 1));
}

/**
 * The ref()/source() nodes whose relation or checksum differs from the last
 * apply, as `dbt:` models are tracked: a relation dbt now builds elsewhere, a
 * changed file, a node newly read or no longer read. A cohort applied before
 * coho recorded them has every node listed once (then recorded).
 */
export function dbtRefChanges(model: Pick<ModelConfig, "dbt">, then: CohortState["model"]): DbtRefChange[] {
  const now = dbtRefsState(model) ?? [];
  const recorded = new Map((then.dbt_refs ?? []).map((r) => [r.unique_id, r]));
  const changes: DbtRefChange[] = [];
  for (const node of now) {
    const before = recorded.get(node.unique_id);
    recorded.delete(node.unique_id);
    if (before && before.relation === node.relation && before.checksum === node.checksum) continue;
    changes.push({ unique_id: node.unique_id, relation: node.relation, checksum: node.checksum, previous: before ? { relation: before.relation, checksum: before.checksum } : null });
  }
  for (const gone of recorded.values()) changes.push({ unique_id: gone.unique_id, relation: null, checksum: null, previous: { relation: gone.relation, checksum: gone.checksum } });
  return changes;
}
