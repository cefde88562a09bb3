/**
 * The raw shape of a config file as schema/coho.schema.json describes it, keys in
 * YAML spelling. `*_KEYS` records list every key of each type: the compiler makes
 * each record match its type exactly, and a test makes it match the schema, so the
 * two cannot drift apart.
 */
export interface ConfigData {
  version?: number;
  state?: StateData;
  dbt?: DbtData;
  sources?: Record<string, SourceData>;
  destinations?: Record<string, DestinationData>;
  models?: Record<string, ModelData>;
  identifiers?: Record<string, IdentifierData>;
  cohorts?: Record<string, CohortData>;
  moved?: MovedData[];
  include?: string[];
  vars?: Record<string, VarData>;
  /** Read and removed before the data is built (config/environments.ts lays the chosen one over the rest). */
  environments?: Record<string, EnvironmentData>;
}

export interface EnvironmentData {
  default?: boolean;
  description?: string;
  destinations?: Record<string, Record<string, unknown>>;
  sources?: Record<string, Record<string, unknown>>;
  cohorts?: Record<string, { guards?: Record<string, unknown> }>;
  state?: Record<string, unknown>;
  dbt?: { manifest?: string };
  vars?: Record<string, string | number | boolean>;
}

export interface VarData {
  type: "string" | "integer" | "number" | "boolean";
  default?: string | number | boolean;
  description?: string;
}

export interface StateData {
  backend: "local" | "postgres";
  url?: string;
  schema?: string;
  snapshots?: StateSnapshotsData;
}

export interface StateSnapshotsData {
  source: string;
  schema?: string;
}

export interface DbtData {
  manifest: string;
  source?: string;
  allow_outside_project?: boolean;
  owner?: DbtOwnerData;
}

export interface DbtOwnerData {
  name?: string;
  email?: string;
}

export interface DuckDbSourceData {
  type: "duckdb";
  path?: string;
  allowed_paths?: string[];
}

export interface PostgresSourceData {
  type: "postgres";
  url: string;
  ssl?: { mode?: "disable" | "require" | "verify-full"; ca_file?: string };
  statement_timeout?: string;
}

export interface RedshiftSourceData {
  type: "redshift";
  url: string;
  ssl?: { mode?: "disable" | "require" | "verify-full"; ca_file?: string };
  statement_timeout?: string;
}

export interface BigQuerySourceData {
  type: "bigquery";
  project: string;
  dataset: string;
  location?: string;
  credentials?: string;
  maximum_bytes_billed?: number | string;
  api_endpoint?: string;
  request_timeout?: string;
}

export interface SnowflakeSourceData {
  type: "snowflake";
  account: string;
  user: string;
  private_key?: string;
  private_key_passphrase?: string;
  password?: string;
  warehouse: string;
  role?: string;
  database: string;
  schema: string;
  access_url?: string;
  request_timeout?: string;
}

export type SourceData = DuckDbSourceData | PostgresSourceData | RedshiftSourceData | BigQuerySourceData | SnowflakeSourceData;

export interface BrazeCohortsDestinationData {
  type: "braze_cohorts";
  rest_endpoint: string;
  partner: string;
  partner_api_key: string;
  data_import_key: string;
  allow_unknown_endpoint?: boolean;
}

export interface BrazeAttributesDestinationData {
  type: "braze_attributes";
  rest_endpoint: string;
  api_key: string;
  batch_size?: number;
  update_existing_only?: boolean;
  missing_profiles?: "wait" | "create" | "ignore";
  rate_limit?: string;
  max_array_values?: number;
  allow_unknown_endpoint?: boolean;
}

export type DestinationData = BrazeCohortsDestinationData | BrazeAttributesDestinationData;

export interface ModelData {
  source?: string;
  primary_key?: string;
  sql?: string;
  file?: string;
  dbt?: string;
  description?: string;
}

export interface IdentifierData {
  type: "external_id" | "alias" | "device_id";
  column: string;
  label?: string;
}

export interface CohortData {
  name: string;
  destination: string;
  model: string;
  identifier: string | string[];
  cohort_id?: string;
  attribute?: string | { name: string; value: string };
  on_leave?: "false" | "unset";
  refresh_every?: string;
  description?: string;
  guards?: GuardsData;
  prevent_destroy?: boolean;
  for_each?: ForEachData;
}

export interface ForEachData {
  key: string;
  keys?: string[];
}

export interface GuardsData {
  max_removals?: number | string;
  allow_empty?: boolean;
  max_deleted_instances?: number | string;
}

export interface MovedData {
  from: string;
  to: string;
}

type AllKeys<T> = T extends unknown ? keyof T : never;
/** A record with exactly the keys of T (of every member, for unions). */
type KeyRecord<T> = { readonly [K in AllKeys<T>]: true };

export const CONFIG_KEYS: KeyRecord<ConfigData> = {
  version: true, state: true, dbt: true, sources: true, destinations: true, models: true,
  identifiers: true, cohorts: true, moved: true, include: true, vars: true, environments: true,
};
export const ENVIRONMENT_KEYS: KeyRecord<EnvironmentData> = {
  default: true, description: true, destinations: true, sources: true, cohorts: true, state: true, dbt: true, vars: true,
};
export const DBT_KEYS: KeyRecord<DbtData> = { manifest: true, source: true, allow_outside_project: true, owner: true };
export const DBT_OWNER_KEYS: KeyRecord<DbtOwnerData> = { name: true, email: true };
export const STATE_KEYS: KeyRecord<StateData> = { backend: true, url: true, schema: true, snapshots: true };
export const STATE_SNAPSHOTS_KEYS: KeyRecord<StateSnapshotsData> = { source: true, schema: true };
export const DUCKDB_SOURCE_KEYS: KeyRecord<DuckDbSourceData> = { type: true, path: true, allowed_paths: true };
export const POSTGRES_SOURCE_KEYS: KeyRecord<PostgresSourceData> = { type: true, url: true, ssl: true, statement_timeout: true };
export const REDSHIFT_SOURCE_KEYS: KeyRecord<RedshiftSourceData> = { type: true, url: true, ssl: true, statement_timeout: true };
export const SNOWFLAKE_SOURCE_KEYS: KeyRecord<SnowflakeSourceData> = { type: true, account: true, user: true, private_key: true, private_key_passphrase: true, password: true, warehouse: true, role: true, database: true, schema: true, access_url: true, request_timeout: true };
export const BIGQUERY_SOURCE_KEYS: KeyRecord<BigQuerySourceData> = { type: true, project: true, dataset: true, location: true, credentials: true, maximum_bytes_billed: true, api_endpoint: true, request_timeout: true };
export const DESTINATION_KEYS: KeyRecord<BrazeCohortsDestinationData> & KeyRecord<BrazeAttributesDestinationData> = {
  type: true, rest_endpoint: true, partner: true, partner_api_key: true, data_import_key: true, allow_unknown_endpoint: true,
  api_key: true, batch_size: true, update_existing_only: true, missing_profiles: true, rate_limit: true, max_array_values: true,
};
export const MODEL_KEYS: KeyRecord<ModelData> = { source: true, primary_key: true, sql: true, file: true, dbt: true, description: true };
export const IDENTIFIER_KEYS: KeyRecord<IdentifierData> = { type: true, column: true, label: true };
export const COHORT_KEYS: KeyRecord<CohortData> = {
  name: true, destination: true, model: true, identifier: true, cohort_id: true, attribute: true, on_leave: true, refresh_every: true, description: true, guards: true, prevent_destroy: true, for_each: true,
};
export const FOR_EACH_KEYS: KeyRecord<ForEachData> = { key: true, keys: true };
export const GUARDS_KEYS: KeyRecord<GuardsData> = { max_removals: true, allow_empty: true, max_deleted_instances: true };
export const VAR_KEYS: KeyRecord<VarData> = { type: true, default: true, description: true };
export const MOVED_KEYS: KeyRecord<MovedData> = { from: true, to: true };
