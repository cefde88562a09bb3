import { CohoError } from "../../model/errors.js";
import type { BigQuerySourceConfig, ModelConfig } from "../../model/project.js";
import { formatBytes } from "../../model/bytes.js";
import { modelSqlError } from "../source-error.js";
import { redactKnown } from "../../model/redaction.js";

/**
 * What a BigQuery failure means for the user. BigQuery reports an `errors[].reason`
 * (https://cloud.google.com/bigquery/docs/error-messages) beside the HTTP status;
 * connection failures carry a Node error code instead.
 */
export type BigQueryFailure = "not_found" | "access_denied" | "unauthenticated" | "bytes_limit" | "invalid_query" | "network" | "other";

interface ApiErrorShape {
  readonly code?: number | string;
  readonly errors?: readonly { readonly reason?: string; readonly message?: string }[];
  readonly message?: string;
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_SOCKET", "ECONNABORTED"]);

export function classifyBigQueryError(error: unknown): BigQueryFailure {
  const e = (error ?? {}) as ApiErrorShape & { cause?: { code?: string }; errno?: string; type?: string };
  const reasons = (e.errors ?? []).map((x) => x.reason ?? "");
  const message = typeof e.message === "string" ? e.message : "";
  if (reasons.includes("bytesBilledLimitExceeded")) return "bytes_limit";
  if (reasons.includes("notFound") || e.code === 404) return "not_found";
  // The GoogleSQL analyzer's own wording (the BigQuery emulator reports it as jobInternalError).
  if (/\b(Table|Dataset|Project) not found: /.test(message)) return "not_found";
  if (/^(failed to analyze|failed to parse)|Syntax error: |Unrecognized name: |No matching signature/.test(message)) return "invalid_query";
  if (reasons.includes("accessDenied") || e.code === 403) return "access_denied";
  if (e.code === 401 || reasons.includes("authError")) return "unauthenticated";
  if (reasons.includes("invalidQuery") || reasons.includes("invalid")) return "invalid_query";
  const code = typeof e.code === "string" ? e.code : e.cause?.code ?? e.errno;
  if ((code !== undefined && NETWORK_CODES.has(code)) || e.type === "system" || /socket hang up|ECONNREFUSED|ECONNRESET|network|fetch failed|request to .* failed|premature close|other side closed|terminated/i.test(message)) return "network";
  if (e.code === 400) return "invalid_query";
  return "other";
}

/** The first error message BigQuery gave, bounded, without a request URL's query string. */
export function bigQueryMessage(error: unknown): string {
  const e = (error ?? {}) as ApiErrorShape;
  const text = e.errors?.find((x) => x.message)?.message ?? (typeof e.message === "string" ? e.message : String(error));
  return redactKnown(text.replace(/(https?:\/\/[^\s?]*)\?[^\s]*/g, "$1")).slice(0, 2000);
}

/** A relation BigQuery said it cannot find: `Not found: Table p:d.t was not found in location US` → `p:d.t`. */
export function missingRelation(message: string): { kind: string; name: string } | undefined {
  const match = /Not found: (Table|Dataset|Project|View)\s+([^\s]+?)(?:\s|$)/i.exec(message) ?? /(Table|Dataset|Project) not found: ([^\s[]+)/i.exec(message) ?? /(Table|Dataset|Project) "?([^\s"]+)"? (?:was )?not found/i.exec(message);
  return match ? { kind: match[1]!.toLowerCase(), name: match[2]!.replace(/[.,;]$/, "") } : undefined;
}

/** A permission BigQuery named (`bigquery.jobs.create`), if it did. */
export function missingPermission(message: string): string | undefined {
  return /\b(bigquery\.[a-zA-Z]+\.[a-zA-Z]+)\b/.exec(message)?.[1];
}

/** Which predefined role grants a permission, for the hint (least privilege). */
function roleFor(permission: string | undefined): string {
  if (permission === "bigquery.jobs.create") return "roles/bigquery.jobUser on the project";
  if (permission?.startsWith("bigquery.tables.") || permission?.startsWith("bigquery.datasets.")) return "roles/bigquery.dataViewer on the dataset (or the table)";
  return "roles/bigquery.jobUser on the project and roles/bigquery.dataViewer on the dataset";
}

/**
 * A located, typed error for a failure while running a model. `lineOffset`: lines
 * of coho's own SQL before the model's first line, so BigQuery's `[line:column]`
 * points into the model. `answered`: whether this source got any answer before
 * (a network failure is then a lost connection, not an unreachable endpoint).
 */
export function bigQueryError(config: BigQuerySourceConfig, error: unknown, options: { model: ModelConfig | undefined; lineOffset: number; answered: boolean }): Error {
  if (error instanceof CohoError) return error;
  const model = options.model;
  if (!model) return sourceError(config, error, options.answered);
  const failure = classifyBigQueryError(error);
  const message = bigQueryMessage(error);
  const where = `source ${config.name} (BigQuery project ${config.project})`;
  switch (failure) {
    case "not_found": {
      const missing = missingRelation(message);
      const what = missing ? `the ${missing.kind} ${missing.name}` : "a relation it reads";
      return new CohoError("source.relation_not_found", `model ${model.name}: ${where} has no ${what.replace(/^the /, "")}: ${message}`, {
        location: model.sqlOrigin,
        hint: `check the name in models.${model.name} (unqualified tables are read from dataset ${config.dataset}), sources.${config.name}.project and .location`,
      });
    }
    case "access_denied": {
      const permission = missingPermission(message);
      return new CohoError("source.permission_denied", `model ${model.name}: ${where} refused access${permission ? `: the credentials lack ${permission}` : ""}: ${message}`, {
        location: model.sqlOrigin,
        hint: `grant ${roleFor(permission)} to the account coho runs as (see docs/warehouses.md, "Grants")`,
      });
    }
    case "unauthenticated":
      return credentialsRejected(config, message);
    case "bytes_limit":
      return new CohoError("source.bytes_limit", `model ${model.name}: BigQuery refused to run it: it would bill more than sources.${config.name}.maximum_bytes_billed (${formatBytes(config.maximumBytesBilled ?? 0)}): ${message}`, {
        location: model.sqlOrigin,
        hint: `read fewer bytes (select fewer columns, filter on the partitioning column) or raise sources.${config.name}.maximum_bytes_billed`,
      });
    case "invalid_query": {
      // BigQuery writes [line:column]; the GoogleSQL analyzer (the emulator) [at line:column].
      const at = /\[(?:at )?(\d+):(\d+)\]/.exec(message);
      const line = at ? Number(at[1]) - options.lineOffset : 0;
      return line >= 1 ? modelSqlError(model, message, { line, column: Number(at![2]) }) : modelSqlError(model, message);
    }
    case "network":
      return options.answered
        ? new CohoError("source.connection_lost", `source ${config.name}: the connection to BigQuery at ${endpointOf(config)} was lost while models.${model.name} ran: ${message}`, {
            location: model.sqlOrigin,
            hint: "the network or the endpoint went away; the plan changed nothing — run it again once BigQuery is reachable",
          })
        : unreachable(config, message);
    default:
      return new CohoError("source.query_failed", `model ${model.name}: ${where} failed to run it: ${message}`, { location: model.sqlOrigin });
  }
}

/** A failure of coho's own queries (snapshots in coho's dataset), located at the source. */
function sourceError(config: BigQuerySourceConfig, error: unknown, answered: boolean): Error {
  const failure = classifyBigQueryError(error);
  const message = bigQueryMessage(error);
  if (failure === "unauthenticated") return credentialsRejected(config, message);
  if (failure === "network" && !answered) return unreachable(config, message);
  const code = failure === "network" ? "source.connection_lost" : failure === "access_denied" ? "source.permission_denied" : failure === "not_found" ? "source.relation_not_found" : "source.query_failed";
  const permission = missingPermission(message);
  return new CohoError(code, `source ${config.name} (BigQuery project ${config.project}): ${failure === "network" ? "the connection was lost" : "a query on coho's own tables failed"}: ${message}`, {
    location: config.origin,
    ...(failure === "access_denied" ? { hint: `grant ${roleFor(permission)} and roles/bigquery.dataEditor on coho's dataset to the account coho runs as` } : {}),
  });
}

export function credentialsRejected(config: BigQuerySourceConfig, message: string): CohoError {
  const from = config.credentials ? `the service-account key in environment variable ${config.credentials.source}` : "Application Default Credentials";
  return new CohoError("source.credentials_rejected", `source ${config.name}: BigQuery rejected ${from}: ${message}`, {
    location: config.origin,
    hint: config.credentials ? `put a current key of a service account with access to project ${config.project} in ${config.credentials.source}` : "run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or set sources.*.credentials",
  });
}

export function unreachable(config: BigQuerySourceConfig, message: string): CohoError {
  return new CohoError("source.bigquery_unreachable", `source ${config.name}: cannot reach BigQuery at ${endpointOf(config)}: ${message}`, {
    location: config.origin,
    hint: config.apiEndpoint ? `check sources.${config.name}.api_endpoint and that the endpoint is running` : "check the network and proxy settings of this machine",
  });
}

export function endpointOf(config: BigQuerySourceConfig): string {
  return config.apiEndpoint ?? "https://bigquery.googleapis.com";
}
