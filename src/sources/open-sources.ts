import type { Project } from "../model/project.js";
import type { DuckDbEngine } from "./duckdb-engine.js";
import { DuckDbSource } from "./duckdb-source.js";
import { PostgresSource } from "./postgres-source.js";
import type { Source } from "./source.js";

/** One Source per declared source; connections open lazily, on first use. */
export function openSources(project: Project, engine: DuckDbEngine): Map<string, Source> {
  const sources = new Map<string, Source>();
  for (const config of project.sources.values()) {
    sources.set(config.name, config.type === "duckdb" ? new DuckDbSource(config, engine) : new PostgresSource(config));
  }
  return sources;
}

export async function closeSources(sources: ReadonlyMap<string, Source>): Promise<void> {
  await Promise.all([...sources.values()].map((s) => s.close()));
}
