import { dirname, resolve } from "node:path";
import { BRAZE_REST_HOSTS, isLoopbackHost } from "../model/braze-instances.js";
import type { Diagnostic } from "../model/diagnostic.js";
import type { DestinationConfig, PostgresSslMode, SourceConfig, StateConfig } from "../model/project.js";
import { Secret } from "../model/secret.js";
import type { Entry } from "./collect-entries.js";
import type { LoadedFile } from "./load-file.js";
import { locate } from "./locate.js";

type Raw = Record<string, unknown>;

/** Builds a typed source; a literal postgres URL holding a password is an error. */
export function buildSource(entry: Entry<Raw>, diagnostics: Diagnostic[]): SourceConfig | undefined {
  const { name, value, file, origin } = entry;
  const baseDir = dirname(file.path);
  if (value.type === "duckdb") {
    const path = typeof value.path === "string" ? resolve(baseDir, value.path) : undefined;
    return { type: "duckdb", name, path, origin };
  }
  const url = secretOrLiteralUrl(file, ["sources", name, "url"], value.url as string, diagnostics);
  if (url === undefined) return undefined;
  const ssl = (value.ssl ?? {}) as { mode?: PostgresSslMode; ca_file?: string };
  return {
    type: "postgres",
    name,
    url,
    ssl: { mode: ssl.mode, caFile: ssl.ca_file === undefined ? undefined : resolve(baseDir, ssl.ca_file) },
    statementTimeoutMs: parseDuration((value.statement_timeout as string | undefined) ?? "15m"),
    origin,
  };
}

export function buildDestination(entry: Entry<Raw>, diagnostics: Diagnostic[]): DestinationConfig | undefined {
  const { name, value, file, origin } = entry;
  const endpoint = String(value.rest_endpoint);
  const endpointAt = locate(file.yaml, ["destinations", name, "rest_endpoint"]);
  const url = new URL(endpoint);
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
    return {
      type: "braze_attributes",
      ...base,
      apiKey,
      batchSize: typeof value.batch_size === "number" ? value.batch_size : 75,
      updateExistingOnly: value.update_existing_only !== false,
      rateLimit: parseRateLimit(typeof value.rate_limit === "string" ? value.rate_limit : "3000/3s"),
      maxArrayValues: typeof value.max_array_values === "number" ? value.max_array_values : 500,
    };
  }
  const partnerApiKey = file.secrets.get(`destinations.${name}.partner_api_key`);
  const dataImportKey = file.secrets.get(`destinations.${name}.data_import_key`);
  if (!partnerApiKey || !dataImportKey) return undefined;
  return { type: "braze_cohorts", ...base, partner: String(value.partner), partnerApiKey, dataImportKey };
}

/** "3000/3s" → 3,000 requests per 3 seconds. The schema guarantees the shape. */
function parseRateLimit(text: string): { requests: number; windowSeconds: number } {
  const match = /^(\d+)\/(\d+)(s|m)$/.exec(text);
  if (!match) return { requests: 3000, windowSeconds: 3 };
  return { requests: Number(match[1]), windowSeconds: Number(match[2]) * (match[3] === "m" ? 60 : 1) };
}

/** The state backend; a postgres URL is a secret (the schema refuses literals). */
export function buildState(root: LoadedFile): StateConfig | undefined {
  const state = root.data?.state;
  if (!state || state.backend === "local") return { backend: "local" };
  const url = root.secrets.get("state.url");
  if (!url) return undefined; // its missing variable was reported
  return { backend: "postgres", url, schema: state.schema ?? "coho" };
}

function secretOrLiteralUrl(file: Entry<Raw>["file"], path: string[], text: string, diagnostics: Diagnostic[]): Secret | string | undefined {
  const secret = file.secrets.get(path.join("."));
  if (secret) return secret;
  if (text.includes("${env:")) return undefined; // its missing variable was reported
  const at = locate(file.yaml, path);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    diagnostics.push({ severity: "error", code: "config.url_invalid", message: `${path.join(".")} is not a URL such as postgres://user@host:5432/db`, location: at });
    return undefined;
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    diagnostics.push({ severity: "error", code: "config.url_invalid", message: `${path.join(".")} must be a postgres:// or postgresql:// URL`, location: at });
    return undefined;
  }
  if (parsed.password !== "") {
    diagnostics.push(literalSecret(at, path.join(".")));
    return undefined;
  }
  return text;
}

function literalSecret(location: Diagnostic["location"], where: string): Diagnostic {
  return {
    severity: "error",
    code: "config.secret_literal",
    message: `${where} contains a password written in YAML; secrets are never written in config: use \${env:NAME} and put the URL in the environment or in .env beside coho.yaml`,
    ...(location ? { location } : {}),
  };
}

/** "30s" → 30000. The schema guarantees the shape. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (!match) return 0;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "ms"] ?? 1;
  return Number(match[1]) * unit;
}
