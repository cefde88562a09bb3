import type { SourceLocation } from "./diagnostic.js";
import type { Secret } from "./secret.js";

/**
 * The typed configuration, after YAML, schema, environment and reference checks.
 * Every entity keeps `origin`, the place it is declared, so later stages (SQL
 * errors, plan output) can point users back at their YAML.
 */
export interface Project {
  /** Absolute path of the project folder (the one holding coho.yaml). */
  readonly dir: string;
  /** Absolute path of coho.yaml. */
  readonly configFile: string;
  /** Every config file read, coho.yaml first, then includes in sorted order. */
  readonly files: readonly string[];
  readonly state: StateConfig;
  /** Set when coho.yaml declares `environments:`; its state is kept apart from every other environment's. */
  readonly environment?: EnvironmentInfo;
  /** The `dbt:` setting, with its manifest read; undefined when the project does not use dbt. */
  readonly dbt?: DbtSettings;
  readonly sources: ReadonlyMap<string, SourceConfig>;
  readonly destinations: ReadonlyMap<string, DestinationConfig>;
  readonly models: ReadonlyMap<string, ModelConfig>;
  readonly identifiers: ReadonlyMap<string, IdentifierConfig>;
  readonly cohorts: ReadonlyMap<string, CohortConfig>;
  readonly moved: readonly MovedBlock[];
}

/** The environment a project was loaded for (`environments:` in coho.yaml, chosen with --env). */
export interface EnvironmentInfo {
  readonly name: string;
  /** Every environment coho.yaml declares, in order. */
  readonly names: readonly string[];
  /** The one marked `default: true`: its state keeps the unqualified places (coho.lock, .coho/, schema coho). */
  readonly isDefault: boolean;
}

export type StateConfig =
  | { readonly backend: "local"; readonly snapshots?: StateSnapshotsConfig }
  | { readonly backend: "postgres"; readonly url: Secret; readonly schema: string; readonly snapshots?: StateSnapshotsConfig };

/** Member snapshots kept inside a warehouse source (docs/warehouses.md); the lockfile and journal stay with the backend. */
export interface StateSnapshotsConfig {
  readonly source: string;
  /** Schema coho owns there. */
  readonly schema: string;
  readonly origin: SourceLocation;
}

/** Source types whose database can hold coho's snapshots (Source.snapshotStore). */
export const SNAPSHOT_SOURCE_TYPES: readonly SourceConfig["type"][] = ["postgres", "redshift", "bigquery", "snowflake"];

export type SourceConfig = DuckDbSourceConfig | PostgresSourceConfig | RedshiftSourceConfig | BigQuerySourceConfig | SnowflakeSourceConfig;

export interface DuckDbSourceConfig {
  readonly type: "duckdb";
  readonly name: string;
  /** Absolute path of the database file; undefined means in-memory. */
  readonly path: string | undefined;
  /**
   * Absolute folders and files outside the project that models may read (the
   * opt-in `allowed_paths`). The embedded engine is shared, so this widens it
   * for every DuckDB model of the project.
   */
  readonly allowedPaths?: readonly string[];
  readonly origin: SourceLocation;
}

export type PostgresSslMode = "disable" | "require" | "verify-full";

export interface PostgresSourceConfig {
  readonly type: "postgres";
  readonly name: string;
  /** The connection URL. A Secret when it came from the environment. */
  readonly url: Secret | string;
  /** mode undefined: the URL's sslmode if it has one, else verify-full (plain TCP on loopback). */
  readonly ssl: { readonly mode: PostgresSslMode | undefined; readonly caFile: string | undefined };
  /** Statement timeout in milliseconds; 0 means none. */
  readonly statementTimeoutMs: number;
  readonly origin: SourceLocation;
}

/** Amazon Redshift, over the PostgreSQL wire protocol (sources/redshift/). */
export interface RedshiftSourceConfig extends Omit<PostgresSourceConfig, "type"> {
  readonly type: "redshift";
}

/** A BigQuery project read through the official client (src/sources/bigquery/). */
export interface BigQuerySourceConfig {
  readonly type: "bigquery";
  readonly name: string;
  /** The Google Cloud project that runs (and is billed for) coho's query jobs. */
  readonly project: string;
  /** Dataset that unqualified table names in models resolve to. */
  readonly dataset: string;
  /** Where jobs run (e.g. `EU`, `US`, `europe-west3`); undefined lets BigQuery choose from the tables read. */
  readonly location: string | undefined;
  /** A service-account key (JSON) from the environment; undefined means Application Default Credentials. */
  readonly credentials: Secret | undefined;
  /** Jobs that would bill more bytes fail instead of running; undefined means no cap. */
  readonly maximumBytesBilled: number | undefined;
  /** Another endpoint for BigQuery's REST API (an emulator); undefined means Google's. */
  readonly apiEndpoint: string | undefined;
  /** Longest wait for one answer of BigQuery's API, in milliseconds (the connection is then taken as lost). */
  readonly requestTimeoutMs: number;
  readonly origin: SourceLocation;
}

/** A Snowflake account read through the official Node.js driver, snowflake-sdk (src/sources/snowflake/). */
export interface SnowflakeSourceConfig {
  readonly type: "snowflake";
  readonly name: string;
  /** Account identifier, e.g. `myorg-myaccount` (or a legacy locator with region). */
  readonly account: string;
  readonly user: string;
  /** How coho signs in: a key pair (a PEM private key) or a password, both from the environment. */
  readonly auth: { readonly kind: "key_pair"; readonly privateKey: Secret; readonly passphrase: Secret | undefined } | { readonly kind: "password"; readonly password: Secret };
  /** Virtual warehouse that runs coho's queries (and is billed for them). */
  readonly warehouse: string;
  /** Role of the session; undefined: the user's default role. */
  readonly role: string | undefined;
  /** Database and schema that unqualified table names in models resolve to. */
  readonly database: string;
  readonly schema: string;
  /** Another address for Snowflake's API (a stand-in on loopback); undefined: the account's own. */
  readonly accessUrl: string | undefined;
  /** Longest wait for one answer of Snowflake, in milliseconds (the connection is then taken as lost). */
  readonly requestTimeoutMs: number;
  readonly origin: SourceLocation;
}

/** Every destination road's config; the `type` discriminates (one folder per road under src/destinations/). */
export type DestinationConfig = BrazeCohortsConfig | BrazeAttributesConfig;

interface DestinationBase {
  readonly name: string;
  readonly restEndpoint: string;
  /** Opt-in for a rest_endpoint outside Braze's published instance list. */
  readonly allowUnknownEndpoint: boolean;
  readonly origin: SourceLocation;
}

/** Braze's partner Cohort Import API. */
export interface BrazeCohortsConfig extends DestinationBase {
  readonly type: "braze_cohorts";
  readonly partner: string;
  readonly partnerApiKey: Secret;
  readonly dataImportKey: Secret;
}

/** Braze's public REST road: membership as a custom attribute through /users/track. */
export interface BrazeAttributesConfig extends DestinationBase {
  readonly type: "braze_attributes";
  readonly apiKey: Secret;
  /** Attribute objects per request: 1–75 (50 on the newer MAU contracts). */
  readonly batchSize: number;
  /** Send `_update_existing_only: true`: coho never creates profiles (every mode but `create`). */
  readonly updateExistingOnly: boolean;
  /**
   * What apply does about members Braze has no profile for (Braze ignores an
   * update-only object for an unknown user and says nothing about it):
   * `wait` reads each addition back with /users/export/ids and records only the
   * members Braze confirms, sending the others again on later applies; `create`
   * sends `_update_existing_only: false` so Braze creates the profile; `ignore`
   * records every acknowledged addition as a member.
   */
  readonly missingProfiles: MissingProfiles;
  /** Where `missing_profiles` (or `update_existing_only`) is written, for errors about it. */
  readonly missingProfilesOrigin?: SourceLocation;
  /** Requests per `rateLimit.windowSeconds` coho plans with (default 3,000 per 3 s). */
  readonly rateLimit: { readonly requests: number; readonly windowSeconds: number };
  /** Guard: most coho values one user may hold in one array attribute (Braze evicts the oldest beyond its cap). */
  readonly maxArrayValues: number;
}

export type MissingProfiles = "wait" | "create" | "ignore";

/** How a cohort on the attribute road writes membership. */
export type AttributeBinding =
  | { readonly kind: "boolean"; readonly name: string; readonly onLeave: "false" | "unset" }
  | { readonly kind: "array"; readonly name: string; readonly value: string };

export interface ModelConfig {
  readonly name: string;
  readonly source: string;
  readonly primaryKey: string | undefined;
  readonly sql: string;
  /** Where the SQL text starts: the `sql:` block in YAML or line 1 of `file:` (for `dbt:` models, its value). */
  readonly sqlOrigin: SourceLocation;
  readonly origin: SourceLocation;
  /** The dbt nodes the model reads; undefined for plain SQL. */
  readonly dbt?: ModelDbt;
}

export interface DbtSettings {
  /** Absolute path of the manifest read. */
  readonly manifestPath: string;
  /** The coho source holding the relations dbt built. */
  readonly source: string | undefined;
  readonly owner: { readonly name?: string; readonly email?: string } | undefined;
  /** The dbt project the manifest was written for (its metadata.project_name). */
  readonly projectName: string | undefined;
  readonly origin: SourceLocation;
}

export interface ModelDbt {
  /** For `dbt:` models: the node whose relation the model selects from. */
  readonly model: DbtNodeRef | undefined;
  /** Every node read: the `dbt:` node, or each ref()/source() in the SQL. */
  readonly dependsOn: readonly DbtNodeRef[];
}

/** A dbt node as a model uses it: enough to track changes and to write exposures. */
export interface DbtNodeRef {
  readonly kind: "ref" | "source";
  readonly uniqueId: string;
  readonly name: string;
  readonly packageName: string;
  /** For sources: the source's name, as in source('source_name', 'table'). */
  readonly sourceName?: string;
  /** dbt's checksum of the node's file, `sha256:<hex>`. */
  readonly checksum: string;
  /** The quoted relation coho reads. */
  readonly relation: string;
  readonly compiledCode: string | undefined;
  /** Where the reference is written. */
  readonly origin: SourceLocation;
}

export type IdentifierType = "external_id" | "alias" | "device_id";

/** One column naming a Braze user as one kind of identifier. */
export type SingleIdentifierConfig =
  | { readonly name: string; readonly type: "external_id" | "device_id"; readonly column: string; readonly origin: SourceLocation }
  | { readonly name: string; readonly type: "alias"; readonly column: string; readonly label: string; readonly origin: SourceLocation };

/**
 * A cohort's identifier: one mapping, or a list (`identifier: [uid, email,
 * device]`) whose first non-null column names each row's user. A list is named
 * `[uid, email, device]`; its parts have distinct key prefixes (one per kind,
 * alias label included), so a member key tells which part it came from.
 */
export type IdentifierConfig =
  | SingleIdentifierConfig
  | { readonly name: string; readonly type: "first_of"; readonly parts: readonly SingleIdentifierConfig[]; readonly origin: SourceLocation };

/** The name of the identifier a list of identifier names makes. */
export function identifierListName(names: readonly string[]): string {
  return `[${names.join(", ")}]`;
}

/** The single identifiers behind an identifier: itself, or a list's parts. */
export function identifierParts(identifier: IdentifierConfig): readonly SingleIdentifierConfig[] {
  return identifier.type === "first_of" ? identifier.parts : [identifier];
}

/** A removal limit: an absolute count or a share of the current members. */
export type RemovalLimit = { readonly kind: "count"; readonly value: number } | { readonly kind: "percent"; readonly value: number };

export interface CohortConfig {
  /** The key under `cohorts:`; the address is `cohorts.<key>`. */
  readonly key: string;
  readonly address: string;
  readonly name: string;
  readonly destination: string;
  readonly model: string;
  readonly identifier: string;
  /** When `identifier:` is a list: its names, in order (`identifier` is then their list name). */
  readonly identifierList?: readonly string[];
  /** Set to adopt an existing Braze cohort instead of creating one. */
  readonly cohortId: string | undefined;
  /** Where `cohort_id` is written, when it is. */
  readonly cohortIdOrigin?: SourceLocation;
  readonly guards: { readonly maxRemovals: RemovalLimit | undefined; readonly allowEmpty: boolean };
  readonly preventDestroy: boolean;
  /** Attribute road only: which attribute (and value) says a user is a member. In a set, templates (see model/template.ts). */
  readonly attribute?: AttributeBinding;
  /** Where `attribute` is written, when it is. */
  readonly attributeOrigin?: SourceLocation;
  /** Where `on_leave` is written, when it is (roads that have no use for it say so). */
  readonly onLeaveOrigin?: SourceLocation;
  /** `refresh_every`: re-send every recorded member's addition when this long has passed since the last whole send. */
  readonly refreshEveryMs?: number;
  /** The destination road's binding as an opaque string (see DestinationRoad.targetOf); a change is a re-target. */
  readonly target?: string;
  readonly origin: SourceLocation;
  /** A cohort set (`for_each`): name and cohort_id are templates, one instance per key value. */
  readonly forEach?: CohortSetConfig;
  /** For an instance of a set: which set and key value it comes from. */
  readonly instanceOf?: {
    readonly set: string;
    readonly key: string;
    readonly label: string | undefined;
    /** The set's attribute binding before rendering (its templates), for messages. */
    readonly attributeTemplate?: AttributeBinding;
  };
}

export interface CohortSetConfig {
  /** The model column whose distinct values are the instances. */
  readonly keyColumn: string;
  /** When given, only these key values become instances; others are reported as ignored. */
  readonly keys: readonly string[] | undefined;
  /** Most instances one plan may delete (default 10%). */
  readonly maxDeletedInstances: RemovalLimit;
  /** Where `name` is written, for errors about rendered values. */
  readonly nameOrigin: SourceLocation;
}

export interface MovedBlock {
  readonly from: string;
  readonly to: string;
  readonly origin: SourceLocation;
}
