import type { Project } from "../model/project.js";
import type { DuckDbEngine } from "./duckdb-engine.js";
import { DuckDbSource } from "./duckdb-source.js";
import { PostgresSource } from "./postgres-source.js";
import { BigQuerySource } from "./bigquery/bigquery-source.js";
import type { Source } from "./source.js";

/** One Source per declared source; connections open lazily, on first use. */
export function openSources(project: Project, engine: DuckDbEngine): Map<string, Source> {
  const sources = new Map<string, Source>();
  const cohortsOf = (model: string) => [...project.cohorts.values()].filter((c) => c.model === model).map((c) => c.key);
  for (const config of project.sources.values()) {
    if (config.type === "duckdb") sources.set(config.name, new DuckDbSource(config, engine));
    else if (config.type === "bigquery") sources.set(config.name, new BigQuerySource(config, cohortsOf));
    else sources.set(config.name, new PostgresSource(config));
  }
  return sources;
}

export async function closeSources(sources: ReadonlyMap<string, Source>): Promise<void> {
  await Promise.all([...sources.values()].map((s) => s.close()));
}
