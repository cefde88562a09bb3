import { readFileSync, statSync } from "node:fs";
import { offsetToPosition } from "../sources/source-error.js";

/**
 * dbt's `target/manifest.json`, reduced to what coho needs: the relations dbt
 * built (models, seeds, snapshots), the sources it declares, and the disabled
 * nodes (so that a reference to one gets its own message). Field names follow
 * dbt's published schemas (schemas.getdbt.com/dbt/manifest/v10–v12.json).
 */
export const SUPPORTED_MANIFEST_VERSIONS = [10, 11, 12] as const;
export type ManifestVersion = (typeof SUPPORTED_MANIFEST_VERSIONS)[number];

/** dbt versions that write each supported schema version, for messages. */
export const DBT_VERSIONS = "dbt 1.6–1.11 (manifest v10–v12)";

/** Manifests of large dbt projects run to tens of megabytes; beyond this, refuse rather than exhaust memory. */
export const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

/** A node another node can `ref()`: a model, seed or snapshot. */
export interface DbtNode {
  readonly uniqueId: string;
  readonly resourceType: string;
  readonly name: string;
  readonly packageName: string;
  readonly database: string | null;
  readonly schema: string | null;
  /** The relation's own name: `alias` for nodes, `identifier` for sources. */
  readonly identifier: string | null;
  readonly relationName: string | null;
  readonly materialized: string | undefined;
  /** FileHash: `{ name: "sha256", checksum }`, rendered as `sha256:<hex>`. */
  readonly checksum: string;
  readonly compiledCode: string | undefined;
  /** Versioned models: this node's version and whether it is the latest. */
  readonly latest: boolean;
}

export interface DbtSource extends Omit<DbtNode, "materialized" | "compiledCode" | "latest"> {
  readonly sourceName: string;
}

export interface DbtManifest {
  readonly path: string;
  readonly version: ManifestVersion;
  readonly dbtVersion: string | undefined;
  /** The adapter dbt compiled with (`metadata.adapter_type`, e.g. postgres), when the manifest says. */
  readonly adapterType: string | undefined;
  /** The root project: dbt's `ref('name')` prefers its nodes over packages'. */
  readonly projectName: string | undefined;
  readonly nodes: readonly DbtNode[];
  readonly sources: readonly DbtSource[];
  readonly disabled: readonly DbtNode[];
}

/** Why a manifest could not be read; `position` is inside the manifest file when known. */
export interface ManifestProblem {
  readonly code: "dbt.manifest_missing" | "dbt.manifest_invalid" | "dbt.manifest_version";
  readonly message: string;
  readonly position?: { readonly line: number; readonly column: number };
}

/** dbt's schema URLs (schemas.getdbt.com/dbt/manifest/v12.json) and version strings (1.9.4, 1.10.0b1). */
const DBT_SCHEMA_URL = /^https:\/\/schemas\.getdbt\.com\/dbt\/manifest\/v\d{1,3}\.json$/;
const DBT_VERSION = /^\d{1,3}\.\d{1,3}(\.\d{1,3})?([a-z]{1,5}\d{0,3})?$/;

const REFABLE = new Set(["model", "seed", "snapshot"]);
type Raw = Record<string, unknown>;

/** Reads and indexes a manifest; every failure is a problem, never an exception. */
export function readManifest(path: string, shown: string): DbtManifest | ManifestProblem {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_MANIFEST_BYTES) return { code: "dbt.manifest_invalid", message: `dbt manifest ${shown} is larger than ${MAX_MANIFEST_BYTES} bytes` };
    text = readFileSync(path, "utf8");
  } catch {
    return { code: "dbt.manifest_missing", message: `dbt manifest not found: ${shown}; run \`dbt compile\` (or dbt run/build) to write it, or fix the path` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // The parser's message quotes the text around the fault: say where it is, never what the file holds.
    const detail = error instanceof Error ? error.message : String(error);
    const offset = /position (\d+)/.exec(detail);
    return {
      code: "dbt.manifest_invalid",
      message: `dbt manifest ${shown} is not JSON`,
      ...(offset ? { position: offsetToPosition(text, Number(offset[1])) } : {}),
    };
  }
  return indexManifest(path, shown, data);
}

export function indexManifest(path: string, shown: string, data: unknown): DbtManifest | ManifestProblem {
  if (!isObject(data) || !isObject(data.metadata) || !isObject(data.nodes)) {
    return { code: "dbt.manifest_invalid", message: `${shown} is not a dbt manifest (no metadata and nodes objects)` };
  }
  const found = data.metadata.dbt_schema_version;
  const match = typeof found === "string" ? /\/manifest\/v(\d+)\.json$/.exec(found) : null;
  const version = match ? Number(match[1]) : undefined;
  if (!SUPPORTED_MANIFEST_VERSIONS.includes(version as ManifestVersion)) {
    // Echo only what looks like dbt's own words: the file may be anything a path led to.
    const what = typeof found !== "string" ? "no metadata.dbt_schema_version" : DBT_SCHEMA_URL.test(found) ? `schema version ${found}` : "a metadata.dbt_schema_version that is not a dbt schema URL";
    const dbtVersion = data.metadata.dbt_version;
    const dbt = typeof dbtVersion === "string" && DBT_VERSION.test(dbtVersion) ? ` (dbt ${dbtVersion})` : "";
    return { code: "dbt.manifest_version", message: `dbt manifest ${shown} has ${what}${dbt}; coho reads ${DBT_VERSIONS}` };
  }
  const nodes = Object.values(data.nodes).filter(isObject).filter((n) => REFABLE.has(String(n.resource_type))).map(toNode);
  const sources = Object.values(isObject(data.sources) ? data.sources : {}).filter(isObject).map(toSource);
  const disabled = Object.values(isObject(data.disabled) ? data.disabled : {})
    .flatMap((list) => (Array.isArray(list) ? list.filter(isObject) : []))
    .filter((n) => REFABLE.has(String(n.resource_type)))
    .map(toNode);
  return {
    path,
    version: version as ManifestVersion,
    dbtVersion: typeof data.metadata.dbt_version === "string" ? data.metadata.dbt_version : undefined,
    adapterType: typeof data.metadata.adapter_type === "string" && /^[a-z_]{1,40}$/.test(data.metadata.adapter_type) ? data.metadata.adapter_type : undefined,
    projectName: typeof data.metadata.project_name === "string" ? data.metadata.project_name : undefined,
    nodes,
    sources,
    disabled,
  };
}

export function isManifestProblem(value: DbtManifest | ManifestProblem): value is ManifestProblem {
  return "code" in value;
}

function toNode(raw: Raw): DbtNode {
  const config = isObject(raw.config) ? raw.config : {};
  const version = raw.version;
  const latest = version === undefined || version === null || raw.latest_version === undefined || raw.latest_version === null || String(version) === String(raw.latest_version);
  return {
    ...common(raw),
    identifier: text(raw.alias) ?? text(raw.name) ?? null,
    materialized: text(config.materialized),
    compiledCode: text(raw.compiled_code),
    latest,
  };
}

function toSource(raw: Raw): DbtSource {
  return { ...common(raw), identifier: text(raw.identifier) ?? text(raw.name) ?? null, sourceName: String(raw.source_name ?? "") };
}

function common(raw: Raw): Omit<DbtNode, "identifier" | "materialized" | "compiledCode" | "latest"> {
  const checksum = isObject(raw.checksum) ? `${String(raw.checksum.name ?? "sha256")}:${String(raw.checksum.checksum ?? "")}` : "none:";
  return {
    uniqueId: String(raw.unique_id ?? ""),
    resourceType: String(raw.resource_type ?? ""),
    name: String(raw.name ?? ""),
    packageName: String(raw.package_name ?? ""),
    database: text(raw.database) ?? null,
    schema: text(raw.schema) ?? null,
    relationName: text(raw.relation_name) ?? null,
    checksum,
  };
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function isObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
