import { isLoopbackHost } from "../model/braze-instances.js";
import type { Diagnostic } from "../model/diagnostic.js";
import type { BigQuerySourceConfig } from "../model/project.js";
import { checkServiceAccountKey } from "../model/service-account.js";
import type { Entry } from "./collect-entries.js";
import { locate } from "./locate.js";
import { parseDuration } from "../model/duration.js";
import { parsedUrl } from "./parsed-url.js";
import { GOOGLE_API_DOMAINS, endpointNotAllowed, hostWithin } from "./endpoint-hosts.js";

/** "30s" → 30000; the schema guarantees the shape. */
function durationMs(text: string): number {
  const result = parseDuration(text);
  return result.ok ? result.ms : 120_000;
}

type Raw = Record<string, unknown>;

/**
 * A `type: bigquery` source. The schema has checked the shapes; this checks what
 * it cannot: the credentials' contents (named by their variable, never shown) and
 * an api_endpoint that would send them in clear text.
 */
export function buildBigQuerySource(entry: Entry<Raw>, diagnostics: Diagnostic[]): BigQuerySourceConfig | undefined {
  const { name, value, file, origin } = entry;
  const credentials = file.secrets.get(`sources.${name}.credentials`);
  if (typeof value.credentials === "string" && !credentials) {
    // A literal key in YAML, or a reference whose variable is unset (already reported).
    if (!value.credentials.includes("${env:")) {
      diagnostics.push({
        severity: "error",
        code: "config.secret_literal",
        message: `sources.${name}.credentials is written in YAML; secrets are never written in config: use \${env:NAME} with the service-account key's JSON in that variable, or omit credentials to use Application Default Credentials`,
        location: locate(file.yaml, ["sources", name, "credentials"]),
      });
    }
    return undefined;
  }
  if (credentials?.resolved) {
    const check = checkServiceAccountKey(credentials.reveal());
    if (!check.ok) {
      diagnostics.push({
        severity: "error",
        code: "config.credentials_invalid",
        message: `sources.${name}.credentials: the value of environment variable ${credentials.source} ${check.problem}`,
        location: locate(file.yaml, ["sources", name, "credentials"]),
      });
      return undefined;
    }
  }
  const apiEndpoint = typeof value.api_endpoint === "string" ? value.api_endpoint.replace(/\/+$/, "") : undefined;
  if (apiEndpoint !== undefined) {
    // A reference that could not be resolved (or was refused) is left as written and reported there.
    const url = parsedUrl(apiEndpoint);
    if (!url) return undefined;
    if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
      diagnostics.push({
        severity: "error",
        code: "config.endpoint_insecure",
        message: `sources.${name}.api_endpoint must use https: plain http is only allowed for a loopback emulator such as http://127.0.0.1:9050`,
        location: locate(file.yaml, ["sources", name, "api_endpoint"]),
      });
      return undefined;
    }
    if (!isLoopbackHost(url.hostname) && !hostWithin(url.hostname, GOOGLE_API_DOMAINS)) {
      diagnostics.push(endpointNotAllowed(`sources.${name}.api_endpoint`, url.hostname, "Google's (*.googleapis.com, private endpoints included)", locate(file.yaml, ["sources", name, "api_endpoint"])));
      return undefined;
    }
  }
  return {
    type: "bigquery",
    name,
    project: String(value.project),
    dataset: String(value.dataset),
    location: typeof value.location === "string" ? value.location : undefined,
    credentials,
    maximumBytesBilled: bytesValue(value.maximum_bytes_billed),
    apiEndpoint,
    requestTimeoutMs: durationMs(typeof value.request_timeout === "string" ? value.request_timeout : "2m"),
    origin,
  };
}

const UNITS: Readonly<Record<string, number>> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };

/** 1000000, "500 MB", "10GiB" → bytes. The schema guarantees the shape (BYTES_PATTERN). */
export function bytesValue(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(value.trim());
  if (!match) return undefined;
  const unit = UNITS[match[2]!.toUpperCase()];
  return unit === undefined ? undefined : Math.floor(Number(match[1]) * unit);
}
