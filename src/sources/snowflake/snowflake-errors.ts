import { CohoError } from "../../model/errors.js";
import type { ModelConfig, SnowflakeSourceConfig } from "../../model/project.js";
import { modelSqlError } from "../source-error.js";
import { redactKnown } from "../../model/redaction.js";

/**
 * What a Snowflake failure means for the user. Snowflake answers with a six-digit
 * error code and an SQLSTATE (https://docs.snowflake.com/en/developer-guide/sql-api/reference,
 * "Error codes"); snowflake-sdk adds its own codes for network failures (401001…).
 */
export type SnowflakeFailure = "not_found" | "access_denied" | "unauthenticated" | "invalid_query" | "network" | "other";

interface SdkError {
  readonly code?: string | number;
  readonly sqlState?: string;
  readonly message?: string;
  readonly cause?: { readonly code?: string; readonly message?: string };
}

/** snowflake-sdk's codes for a request that got no (usable) answer. */
const SDK_NETWORK_CODES = new Set(["401001", "401002", "402001", "402002", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED"]);
/** Sign-in refused: wrong password, JWT not accepted, user locked or unknown (3901xx, 3903xx, 3941xx). */
const LOGIN_CODE = /^39(01|03|41|43|44)\d\d$/;

export function classifySnowflakeError(error: unknown): SnowflakeFailure {
  const e = (error ?? {}) as SdkError;
  const code = String(e.code ?? "");
  const message = typeof e.message === "string" ? e.message : "";
  if (LOGIN_CODE.test(code)) return "unauthenticated";
  if (code === "003001" || code === "003003" || e.sqlState === "42501" || /Insufficient privileges/i.test(message)) return "access_denied";
  if (code === "002003" || e.sqlState === "42S02" || /does not exist or not authorized|does not exist[!.]?/i.test(message)) return "not_found";
  if (SDK_NETWORK_CODES.has(code) || SDK_NETWORK_CODES.has(String(e.cause?.code ?? "")) || /socket hang up|ECONNREFUSED|ECONNRESET|Network error|could not connect|the connection was lost/i.test(message)) return "network";
  if (/^(0010|0009|0020|0021|0022|0023)\d\d$/.test(code) || /^(42|22|02)/.test(e.sqlState ?? "") || /SQL compilation error/i.test(message)) return "invalid_query";
  return "other";
}

/** Snowflake's message, bounded, without the code it starts with, and without any secret or environment value coho knows (Snowflake upper-cases unquoted names: redactKnown covers that form). */
export function snowflakeMessage(error: unknown): string {
  const e = (error ?? {}) as SdkError;
  const text = typeof e.message === "string" && e.message !== "" ? e.message : String(error);
  return redactKnown(text.replace(/^\d{6} \(\w{5}\): /, "").replace(/\s*\n\s*/g, " ")).slice(0, 2000);
}

/** The relation Snowflake named as missing: `Object 'DB.S.T' does not exist or not authorized.`; fakesnow: `Table with name T does not exist`. */
export function missingRelation(message: string): { kind: string; name: string } | undefined {
  const match = /(Object|Schema|Database|Table|View) '([^']+)' does not exist/i.exec(message) ?? /(Table|Schema|Catalog) with name "?([^"!\s]+)"? does not exist/i.exec(message);
  return match ? { kind: match[1]!.toLowerCase() === "object" ? "table or view" : match[1]!.toLowerCase(), name: match[2]! } : undefined;
}

/** `… on table 'T'` → the object Snowflake refused, if it said. */
function refusedObject(message: string): string | undefined {
  return /(?:on|to) (?:table|view|schema|database) '?"?([^'"\s]+)/i.exec(message)?.[1];
}

/**
 * A located, typed error for a failure while running a model. `lineOffset`: lines
 * of coho's own SQL before the model's first line, so Snowflake's `line N at
 * position M` points into the model. `answered`: whether Snowflake answered this
 * source before (a network failure is then a lost connection).
 */
export function snowflakeError(config: SnowflakeSourceConfig, error: unknown, options: { model: ModelConfig | undefined; lineOffset: number; answered: boolean }): Error {
  if (error instanceof CohoError) return error;
  const model = options.model;
  if (!model) return sourceError(config, error, options.answered);
  const failure = classifySnowflakeError(error);
  const message = snowflakeMessage(error);
  const where = `source ${config.name} (Snowflake account ${config.account})`;
  switch (failure) {
    case "not_found": {
      const missing = missingRelation(message);
      return new CohoError("source.relation_not_found", `model ${model.name}: ${where} has no ${missing ? `${missing.kind} ${missing.name}` : "relation it reads"} (or the role cannot see it): ${message}`, {
        location: model.sqlOrigin,
        hint: `check the name in models.${model.name} (unqualified tables are read from ${config.database}.${config.schema}) and that the role has USAGE on its database and schema and SELECT on it (docs/warehouses.md, "Grants")`,
      });
    }
    case "access_denied": {
      const object = refusedObject(message);
      return new CohoError("source.permission_denied", `model ${model.name}: ${where} refused access${object ? ` to ${object}` : ""}: ${message}`, {
        location: model.sqlOrigin,
        hint: `${object ? `GRANT SELECT ON TABLE ${object}` : `GRANT SELECT ON ALL TABLES IN SCHEMA ${config.database}.${config.schema}`} TO ROLE ${config.role ?? "<coho's role>"}; (and USAGE on its database and schema; see docs/warehouses.md, "Grants")`,
      });
    }
    case "unauthenticated":
      return credentialsRejected(config, message);
    case "invalid_query": {
      const at = /line (\d+) at position (\d+)/i.exec(message);
      const line = at ? Number(at[1]) - options.lineOffset : 0;
      return line >= 1 ? modelSqlError(model, message, { line, column: Number(at![2]) + 1 }) : modelSqlError(model, message);
    }
    case "network":
      return options.answered
        ? new CohoError("source.connection_lost", `source ${config.name}: the connection to Snowflake at ${endpointOf(config)} was lost while models.${model.name} ran: ${message}`, {
            location: model.sqlOrigin,
            hint: "the network or Snowflake went away; the plan changed nothing — run it again once Snowflake is reachable",
          })
        : unreachable(config, message);
    default:
      return new CohoError("source.query_failed", `model ${model.name}: ${where} failed to run it: ${message}`, { location: model.sqlOrigin });
  }
}

/** A failure of coho's own statements (snapshots in coho's schema), located at the source. */
function sourceError(config: SnowflakeSourceConfig, error: unknown, answered: boolean): Error {
  const failure = classifySnowflakeError(error);
  const message = snowflakeMessage(error);
  if (failure === "unauthenticated") return credentialsRejected(config, message);
  if (failure === "network" && !answered) return unreachable(config, message);
  const code = failure === "network" ? "source.connection_lost" : failure === "access_denied" ? "source.permission_denied" : failure === "not_found" ? "source.relation_not_found" : "source.query_failed";
  return new CohoError(code, `source ${config.name} (Snowflake account ${config.account}): ${failure === "network" ? "the connection was lost" : "a statement on coho's own tables failed"}: ${message}`, {
    location: config.origin,
    ...(failure === "access_denied" || failure === "not_found"
      ? { hint: `coho's role needs USAGE on database ${config.database} and CREATE SCHEMA on it (or OWNERSHIP of coho's schema): GRANT CREATE SCHEMA ON DATABASE ${config.database} TO ROLE ${config.role ?? "<coho's role>"}; see docs/warehouses.md, "Grants"` }
      : {}),
  });
}

export function credentialsRejected(config: SnowflakeSourceConfig, message: string): CohoError {
  const from = config.auth.kind === "key_pair" ? `the private key in environment variable ${config.auth.privateKey.source}` : `the password in environment variable ${config.auth.password.source}`;
  return new CohoError("source.credentials_rejected", `source ${config.name}: Snowflake rejected user ${config.user} with ${from}: ${message}`, {
    location: config.origin,
    hint: config.auth.kind === "key_pair" ? `set the key's public half on the user (ALTER USER ${config.user} SET RSA_PUBLIC_KEY = '…') and check sources.${config.name}.account and .user` : `check the password, sources.${config.name}.account and .user`,
  });
}

export function unreachable(config: SnowflakeSourceConfig, message: string): CohoError {
  return new CohoError("source.snowflake_unreachable", `source ${config.name}: cannot reach Snowflake at ${endpointOf(config)}: ${message}`, {
    location: config.origin,
    hint: config.accessUrl ? `check sources.${config.name}.access_url and that the endpoint is running` : `check sources.${config.name}.account and this machine's network and proxy settings`,
  });
}

export function endpointOf(config: SnowflakeSourceConfig): string {
  return config.accessUrl ?? `https://${config.account}.snowflakecomputing.com`;
}
