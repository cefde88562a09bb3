import { parseDuration } from "../model/duration.js";
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { BRAZE_REST_HOSTS, isLoopbackHost } from "../model/braze-instances.js";
import type { Diagnostic } from "../model/diagnostic.js";
import { SNAPSHOT_SOURCE_TYPES, type DestinationConfig, type MissingProfiles, type PostgresSslMode, type SourceConfig, type StateConfig } from "../model/project.js";
import type { SourceLocation } from "../model/diagnostic.js";
import { didYouMean } from "../util/suggest.js";
import { Secret } from "../model/secret.js";
import type { Entry } from "./collect-entries.js";
import type { LoadedFile } from "./load-file.js";
import { hiddenWithin, insideReal, shown } from "../util/inside.js";
import { ALLOW_PATHS_ENV } from "../model/allow-paths.js";
import { locate } from "./locate.js";
import { checkPostgresUrl } from "../model/postgres-url.js";
import { buildBigQuerySource } from "./build-bigquery.js";
import { parsedUrl } from "./parsed-url.js";
import { buildSnowflakeSource } from "./build-snowflake.js";

type Raw = Record<string, unknown>;

/** Builds a typed source; a literal postgres URL holding a password is an error. */
export function buildSource(entry: Entry<Raw>, projectDir: string, optIns: readonly string[], diagnostics: Diagnostic[]): SourceConfig | undefined {
  const { name, value, file, origin } = entry;
  const baseDir = dirname(file.path);
  if (value.type === "duckdb") {
    const path = typeof value.path === "string" ? resolve(baseDir, value.path) : undefined;
    const allowedPaths = ((value.allowed_paths as string[] | undefined) ?? []).map((p) => resolve(baseDir, p));
    const widening = allowedPaths.flatMap((allowed, index) => (ownFile(projectDir, allowed) || optedIn(optIns, allowed) ? [] : [{ allowed, index }]));
    for (const { allowed, index } of widening) diagnostics.push(notOptedIn(file, name, projectDir, allowed, index));
    if (widening.length > 0) return undefined;
    if (path !== undefined && !ownFile(projectDir, path) && !allowedPaths.some((a) => insideReal(a, path))) {
      diagnostics.push({
        severity: "error",
        code: "config.path_outside_project",
        message: `sources.${name}.path: ${shown(projectDir, path)} is outside the project folder or hidden; list it (or its folder) under sources.${name}.allowed_paths to read it`,
        location: locate(file.yaml, ["sources", name, "path"]),
      });
      return undefined;
    }
    return { type: "duckdb", name, path, ...(allowedPaths.length > 0 ? { allowedPaths } : {}), origin };
  }
  if (value.type === "bigquery") return buildBigQuerySource(entry, diagnostics);
  if (value.type === "snowflake") return buildSnowflakeSource(entry, diagnostics);
  const url = secretOrLiteralUrl(file, ["sources", name, "url"], value.url as string, diagnostics);
  if (url === undefined) return undefined;
  const ssl = (value.ssl ?? {}) as { mode?: PostgresSslMode; ca_file?: string };
  if (!sslModesAgree(url, ssl.mode, file, name, diagnostics)) return undefined;
  const caFile = ssl.ca_file === undefined ? undefined : resolve(baseDir, ssl.ca_file);
  // coho reads the CA file whole: like any file coho.yaml names, it is the project's own or opted in by the pipeline,
  // and a regular file (a FIFO or a device would hang the read or never end).
  if (caFile !== undefined && ((!ownFile(projectDir, caFile) && !optedIn(optIns, caFile)) || !regularOrMissing(caFile))) {
    diagnostics.push({
      severity: "error",
      code: "config.path_outside_project",
      message: `sources.${name}.ssl.ca_file: ${shown(projectDir, caFile)} is outside the project folder, hidden, or not a regular file; keep the CA file in the project, or let the pipeline opt in with --allow-path PATH or ${ALLOW_PATHS_ENV}`,
      location: locate(file.yaml, ["sources", name, "ssl", "ca_file"]),
    });
    return undefined;
  }
  return {
    type: value.type === "redshift" ? "redshift" : "postgres",
    name,
    url,
    ssl: { mode: ssl.mode, caFile },
    statementTimeoutMs: durationMs((value.statement_timeout as string | undefined) ?? "15m"),
    origin,
  };
}

export function buildDestination(entry: Entry<Raw>, diagnostics: Diagnostic[]): DestinationConfig | undefined {
  const { name, value, file, origin } = entry;
  const endpoint = String(value.rest_endpoint);
  const endpointAt = locate(file.yaml, ["destinations", name, "rest_endpoint"]);
  // A reference that could not be resolved (or was refused) is left as written and reported there.
  const url = parsedUrl(endpoint);
  if (!url) return undefined;
  const allowUnknown = value.allow_unknown_endpoint === true;
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    diagnostics.push({
      severity: "error",
      code: "config.endpoint_insecure",
      message: `destinations.${name}.rest_endpoint must use https: plain http is only allowed for a loopback emulator such as http://127.0.0.1:4010`,
      location: endpointAt,
    });
  } else if (!isLoopbackHost(url.hostname) && !BRAZE_REST_HOSTS.includes(url.hostname) && !allowUnknown) {
    diagnostics.push({
      severity: "warning",
      code: "config.endpoint_unknown",
      message: `destinations.${name}.rest_endpoint host ${url.hostname} is not one of Braze's published REST endpoints (e.g. rest.iad-01.braze.com); set allow_unknown_endpoint: true if it is right`,
      location: endpointAt,
    });
  }
  const base = { name, restEndpoint: url.origin, allowUnknownEndpoint: allowUnknown, origin };
  // A missing secret was already reported where it is referenced.
  if (value.type === "braze_attributes") {
    const apiKey = file.secrets.get(`destinations.${name}.api_key`);
    if (!apiKey) return undefined;
    const missing = missingProfiles(entry, diagnostics);
    if (!missing) return undefined;
    return {
      type: "braze_attributes",
      ...base,
      apiKey,
      batchSize: typeof value.batch_size === "number" ? value.batch_size : 75,
      updateExistingOnly: missing.mode !== "create",
      missingProfiles: missing.mode,
      ...(missing.origin ? { missingProfilesOrigin: missing.origin } : {}),
      rateLimit: parseRateLimit(typeof value.rate_limit === "string" ? value.rate_limit : "3000/3s"),
      maxArrayValues: typeof value.max_array_values === "number" ? value.max_array_values : 500,
    };
  }
  const partnerApiKey = file.secrets.get(`destinations.${name}.partner_api_key`);
  const dataImportKey = file.secrets.get(`destinations.${name}.data_import_key`);
  if (!partnerApiKey || !dataImportKey) return undefined;
  return { type: "braze_cohorts", ...base, partner: String(value.partner), partnerApiKey, dataImportKey };
}

/**
 * `missing_profiles` (default `wait`), reconciled with the older
 * `update_existing_only`: `false` there means `create`; a contradiction between
 * the two is a located error rather than a silent choice.
 */
function missingProfiles(entry: Entry<Raw>, diagnostics: Diagnostic[]): { mode: MissingProfiles; origin?: SourceLocation } | undefined {
  const { name, value, file } = entry;
  const modeAt = locate(file.yaml, ["destinations", name, "missing_profiles"]);
  const flagAt = locate(file.yaml, ["destinations", name, "update_existing_only"]);
  const mode = value.missing_profiles as MissingProfiles | undefined;
  const flag = value.update_existing_only as boolean | undefined;
  if (mode !== undefined && flag !== undefined && (flag === false) !== (mode === "create")) {
    diagnostics.push({
      severity: "error",
      code: "config.missing_profiles_conflict",
      message: `destinations.${name}: update_existing_only: ${flag} contradicts missing_profiles: ${mode} (update_existing_only: false means missing_profiles: create); remove update_existing_only`,
      ...(modeAt ? { location: modeAt } : {}),
      ...(flagAt ? { related: flagAt } : {}),
    });
    return undefined;
  }
  const origin = modeAt ?? flagAt;
  return { mode: mode ?? (flag === false ? "create" : "wait"), ...(origin ? { origin } : {}) };
}

/** A path of the project's own: inside it (links resolved) and not under a hidden entry such as .git/ or .env. */
/** A regular file, or nothing yet (a missing file is reported when it is read). */
function regularOrMissing(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return true;
  }
}

function ownFile(projectDir: string, path: string): boolean {
  return insideReal(projectDir, path) && !hiddenWithin(projectDir, path);
}

/** Whether an opt-in from outside the configuration covers `path` (links resolved on both sides). */
export function optedIn(optIns: readonly string[], path: string): boolean {
  return optIns.some((optIn) => insideReal(optIn, path));
}

/**
 * `allowed_paths` is part of the reviewed configuration, which a pull request
 * edits: on its own it may only name the project's own files. Anything wider
 * needs the pipeline's opt-in, which no pull request can set.
 */
function notOptedIn(file: Entry<Raw>["file"], name: string, projectDir: string, allowed: string, index: number): Diagnostic {
  return {
    severity: "error",
    code: "config.allowed_path_not_opted_in",
    message: `sources.${name}.allowed_paths: ${insideReal(projectDir, allowed) ? shown(projectDir, allowed) : allowed} is outside the project folder or hidden (like .git/ or .env), and coho.yaml alone cannot widen what models read: opt in from outside the configuration, where a pull request cannot, with --allow-path ${allowed} or ${ALLOW_PATHS_ENV}=${allowed} set by the pipeline`,
    location: locate(file.yaml, ["sources", name, "allowed_paths", index]),
  };
}

/** "3000/3s" → 3,000 requests per 3 seconds. The schema guarantees the shape. */
function parseRateLimit(text: string): { requests: number; windowSeconds: number } {
  const match = /^(\d+)\/(\d+)(s|m)$/.exec(text);
  if (!match) return { requests: 3000, windowSeconds: 3 };
  return { requests: Number(match[1]), windowSeconds: Number(match[2]) * (match[3] === "m" ? 60 : 1) };
}

/** The state backend; a postgres URL is a secret (the schema refuses literals). */
export function buildState(root: LoadedFile, diagnostics: Diagnostic[] = [], defaultSchema = "coho"): StateConfig | undefined {
  const state = root.data?.state;
  const snapshots = state?.snapshots && root.yaml
    ? { snapshots: { source: state.snapshots.source, schema: state.snapshots.schema ?? (defaultSchema === "coho" ? "coho_state" : `${defaultSchema}_state`), origin: locate(root.yaml, ["state", "snapshots", "source"]) } }
    : {};
  if (!state || state.backend === "local") return { backend: "local", ...snapshots };
  const url = root.secrets.get("state.url");
  if (!url) return undefined; // its missing variable was reported
  // Unset in an offline load (plan): the coho.lock mirror stands in; nothing to check.
  if (!url.resolved) return { backend: "postgres", url, schema: state.schema ?? defaultSchema, ...snapshots };
  const check = checkPostgresUrl(url.reveal());
  if (!check.ok) {
    diagnostics.push({ severity: "error", code: "config.url_invalid", message: `state.url: the URL in environment variable ${url.source} ${check.problem}`, ...(root.yaml ? { location: locate(root.yaml, ["state", "url"]) } : {}) });
    return undefined;
  }
  return { backend: "postgres", url, schema: state.schema ?? defaultSchema, ...snapshots };
}

/** `state.snapshots.source` must name a declared source whose database can hold snapshots. */
export function checkSnapshotSource(state: StateConfig, sources: ReadonlyMap<string, SourceConfig>, sourceNames: readonly string[], diagnostics: Diagnostic[]): void {
  const wanted = state.snapshots;
  if (!wanted) return;
  const source = sources.get(wanted.source);
  if (!source) {
    // A declared source that failed to build has its own error.
    if (sourceNames.includes(wanted.source)) return;
    diagnostics.push({ severity: "error", code: "config.unknown_reference", message: `state.snapshots.source: no source named ${wanted.source}${didYouMean(wanted.source, sourceNames)}`, location: wanted.origin });
  } else if (!SNAPSHOT_SOURCE_TYPES.includes(source.type)) {
    diagnostics.push({
      severity: "error",
      code: "config.snapshot_source_type",
      message: `state.snapshots.source: source ${wanted.source} is a ${source.type} source, which cannot hold coho's snapshots (${SNAPSHOT_SOURCE_TYPES.join(", ")} can); omit state.snapshots to keep them with the state backend`,
      location: wanted.origin,
    });
  }
}

function secretOrLiteralUrl(file: Entry<Raw>["file"], path: string[], text: string, diagnostics: Diagnostic[]): Secret | string | undefined {
  const secret = file.secrets.get(path.join("."));
  const at = locate(file.yaml, path);
  if (secret) {
    const check = checkPostgresUrl(secret.reveal());
    if (check.ok) return secret;
    // The message names the variable, never its value (it may hold a password).
    diagnostics.push({ severity: "error", code: "config.url_invalid", message: `${path.join(".")}: the URL in environment variable ${secret.source} ${check.problem}`, location: at });
    return undefined;
  }
  if (text.includes("${env:")) return undefined; // its missing variable was reported
  const check = checkPostgresUrl(text);
  if (!check.ok) {
    diagnostics.push({ severity: "error", code: "config.url_invalid", message: `${path.join(".")} ${check.problem}`, location: at });
    return undefined;
  }
  if (new URL(text).password !== "") {
    diagnostics.push(literalSecret(at, path.join(".")));
    return undefined;
  }
  return text;
}

/** `ssl.mode` and a `?sslmode=` in the URL must not contradict each other: neither silently wins. */
function sslModesAgree(url: Secret | string, mode: PostgresSslMode | undefined, file: Entry<Raw>["file"], name: string, diagnostics: Diagnostic[]): boolean {
  const check = checkPostgresUrl(typeof url === "string" ? url : url.reveal());
  if (!check.ok || mode === undefined || check.sslMode === undefined || check.sslMode === mode) return true;
  diagnostics.push({
    severity: "error",
    code: "config.ssl_conflict",
    message: `sources.${name}.ssl.mode is ${mode} but the URL's sslmode means ${check.sslMode}; keep one of them`,
    location: locate(file.yaml, ["sources", name, "ssl", "mode"]),
  });
  return false;
}

function literalSecret(location: Diagnostic["location"], where: string): Diagnostic {
  return {
    severity: "error",
    code: "config.secret_literal",
    message: `${where} contains a password written in YAML; secrets are never written in config: use \${env:NAME} and put the URL in the environment or in .env beside coho.yaml`,
    ...(location ? { location } : {}),
  };
}

/** "30s" → 30000. The schema guarantees the shape (DURATION_PATTERN). */
function durationMs(text: string): number {
  const result = parseDuration(text);
  return result.ok ? result.ms : 0;
}

