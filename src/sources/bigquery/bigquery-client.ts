import type { BigQuery } from "@google-cloud/bigquery";
import { isLoopbackHost } from "../../model/braze-instances.js";
import type { BigQuerySourceConfig } from "../../model/project.js";
import { checkServiceAccountKey } from "../../model/service-account.js";
import { COHO_VERSION } from "../../version.js";
import { bigqueryDriver, googleAuthLibrary } from "./bigquery-driver.js";

const BIGQUERY_SCOPE = "https://www.googleapis.com/auth/bigquery";

/**
 * Retries of one request: the client retries what BigQuery documents as retryable
 * (HTTP 429 and 5xx, reasons rateLimitExceeded and backendError, connection
 * resets) with exponential back-off. Jobs carry client-made IDs, so inserting one
 * again after a lost answer cannot start a second job.
 */
export const BIGQUERY_MAX_RETRIES = 5;

/** How a source authenticates: a service-account key, Application Default Credentials, or nothing (a loopback emulator). */
export type BigQueryAuth = "service_account" | "application_default" | "none";

export function authFor(config: BigQuerySourceConfig): BigQueryAuth {
  if (config.credentials) return "service_account";
  return config.apiEndpoint !== undefined && isLoopbackHost(new URL(config.apiEndpoint).hostname) ? "none" : "application_default";
}

/**
 * The official client for a source. The key is revealed only here. A service
 * account signs its own short-lived token (a self-signed JWT, as Google's client
 * libraries do for service accounts), so no token exchange precedes a query.
 */
export function openBigQuery(config: BigQuerySourceConfig): BigQuery {
  const { BigQuery: Client } = bigqueryDriver();
  const auth = googleAuthLibrary();
  const kind = authFor(config);
  let authClient: InstanceType<typeof auth.JWT> | InstanceType<typeof auth.PassThroughClient> | undefined;
  if (kind === "service_account") {
    const check = checkServiceAccountKey(config.credentials!.reveal());
    // The config loader refused malformed keys already; this keeps the type honest.
    if (!check.ok) throw new Error(`sources.${config.name}.credentials ${check.problem}`);
    const jwt = new auth.JWT({ email: check.key.clientEmail, key: check.key.privateKey, keyId: check.key.privateKeyId, scopes: [BIGQUERY_SCOPE] });
    jwt.useJWTAccessWithScope = true;
    authClient = jwt;
  } else if (kind === "none") {
    authClient = new auth.PassThroughClient();
  }
  return new Client({
    projectId: config.project,
    ...(config.location ? { location: config.location } : {}),
    ...(config.apiEndpoint ? { apiEndpoint: config.apiEndpoint } : {}),
    ...(authClient ? { authClient } : {}),
    // Retries of one request end within request_timeout, so a lost connection ends the
    // command then too (pending back-off timers would otherwise keep it alive).
    retryOptions: { autoRetry: true, maxRetries: BIGQUERY_MAX_RETRIES, totalTimeout: Math.max(1, Math.ceil(config.requestTimeoutMs / 1000)) },
    userAgent: `coho/${COHO_VERSION}`,
  });
}
