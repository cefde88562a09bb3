import { CohoError } from "../model/errors.js";
import type { DbtNodeRef, ModelConfig, Project } from "../model/project.js";
import type { Source } from "../sources/source.js";

/**
 * Before any model runs, checks that every relation a planned cohort's model
 * reads from dbt exists in its source: a missing one (dbt not run yet, another
 * target, the wrong `dbt.source`) is one error naming the relation, at the YAML
 * that references it, instead of a database error deep in the plan.
 */
export async function checkDbtRelations(project: Project, sources: ReadonlyMap<string, Source>, modelNames: Iterable<string>): Promise<void> {
  const seen = new Set<string>();
  for (const name of modelNames) {
    const model = project.models.get(name);
    if (!model?.dbt) continue;
    const source = sources.get(model.source);
    if (!source) continue;
    for (const ref of model.dbt.dependsOn) {
      const key = `${model.source}\0${ref.relation}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await probe(source, model, ref);
    }
  }
}

async function probe(source: Source, model: ModelConfig, ref: DbtNodeRef): Promise<void> {
  const probeModel: ModelConfig = { ...model, sql: `select * from ${ref.relation}` };
  try {
    await source.describe(probeModel);
  } catch (error) {
    // Only the database refusing the query means "no such relation"; a missing
    // database file or a refused connection keeps its own message.
    if (!(error instanceof CohoError) || error.code !== "source.sql_error") throw error;
    const detail = error instanceof Error ? (error.message.split("\n").find((l) => l.trim() !== "" && !l.includes("refused its SQL")) ?? "").trim() : "";
    throw new CohoError(
      "dbt.relation_missing",
      `models.${model.name}: dbt ${ref.kind === "source" ? "source" : "model"} ${ref.uniqueId} is built as ${ref.relation}, which source ${source.name} cannot read${detail ? `: ${detail}` : ""}`,
      { location: ref.origin, hint: `run dbt (dbt run / dbt build) for the target source ${source.name} points at, or set dbt.source to the source holding dbt's relations` },
    );
  }
}
