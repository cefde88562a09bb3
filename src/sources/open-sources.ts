import { describeTarget } from "../model/postgres-url.js";
import type { Project, SourceConfig } from "../model/project.js";
import type { Secret } from "../model/secret.js";
import type { DuckDbEngine } from "./duckdb-engine.js";
import { DuckDbSource } from "./duckdb/duckdb-source.js";
import { PostgresSource } from "./postgres/postgres-source.js";
import { RedshiftSource } from "./redshift/redshift-source.js";
import { BigQuerySource } from "./bigquery/bigquery-source.js";
import { SnowflakeSource } from "./snowflake/snowflake-source.js";
import type { Source } from "./source.js";

type ConfigOf<T extends SourceConfig["type"]> = Extract<SourceConfig, { type: T }>;

/** How coho opens and names the sources of one engine. */
interface SourceEngine<T extends SourceConfig["type"]> {
  /** `project`: the whole configuration, for what a source tells its warehouse about a query (BigQuery's job labels name the cohorts). */
  open(config: ConfigOf<T>, engine: DuckDbEngine, project: Project | undefined): Source;
  /** Where the source is, for messages and `coho check`: never a secret (host:port/database, a path, a project). */
  where(config: ConfigOf<T>): string;
}

/**
 * One entry per source engine, each a folder under src/sources/. A new warehouse adds
 * its folder, its config type (model/project.ts, schema/coho.schema.json,
 * config/build-connections.ts) and one line here; drivers load on first use inside
 * the folder, so a project that does not use an engine never loads its driver.
 */
const ENGINES: { readonly [T in SourceConfig["type"]]: SourceEngine<T> } = {
  duckdb: { open: (config, engine) => new DuckDbSource(config, engine), where: (config) => config.path ?? "in-memory DuckDB" },
  postgres: { open: (config) => new PostgresSource(config), where: (config) => describeTarget(revealed(config.url)) },
  redshift: { open: (config) => new RedshiftSource(config), where: (config) => describeTarget(revealed(config.url)) },
  bigquery: {
    open: (config, _engine, project) => new BigQuerySource(config, (model) => [...(project?.cohorts.values() ?? [])].filter((c) => c.model === model).map((c) => c.key)),
    where: (config) => `BigQuery project ${config.project}${config.apiEndpoint ? ` at ${config.apiEndpoint}` : ""}`,
  },
  snowflake: {
    open: (config, _engine, project) => new SnowflakeSource(config, (model) => [...(project?.cohorts.values() ?? [])].filter((c) => c.model === model).map((c) => c.key)),
    where: (config) => `Snowflake account ${config.account}, ${config.database}.${config.schema}${config.accessUrl ? ` at ${config.accessUrl}` : ""}`,
  },
};

/** One Source per declared source; connections open lazily, on first use. */
export function openSources(project: Project, engine: DuckDbEngine): Map<string, Source> {
  const sources = new Map<string, Source>();
  for (const config of project.sources.values()) sources.set(config.name, openSource(config, engine, project));
  return sources;
}

function engineOf<T extends SourceConfig["type"]>(config: ConfigOf<T>): SourceEngine<T> {
  return ENGINES[config.type as T] as SourceEngine<T>;
}

function openSource(config: SourceConfig, engine: DuckDbEngine, project: Project): Source {
  return engineOf(config).open(config, engine, project);
}

/**
 * The source holding coho's snapshots (state.snapshots), opened on its own for the
 * state backend; only warehouse engines (model/project.ts SNAPSHOT_SOURCE_TYPES) can.
 */
export function openSnapshotSource(config: Exclude<SourceConfig, { type: "duckdb" }>): Source {
  return engineOf(config).open(config, undefined as never, undefined);
}

/** Where a declared source is, for messages: never a secret. */
export function describeSource(config: SourceConfig): string {
  return engineOf(config).where(config);
}

function revealed(url: Secret | string): string {
  return typeof url === "string" ? url : url.reveal();
}

export async function closeSources(sources: ReadonlyMap<string, Source>): Promise<void> {
  await Promise.all([...sources.values()].map((s) => s.close()));
}
