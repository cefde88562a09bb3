import type { BrazeCohortsConfig } from "../../model/project.js";
import { BrazeClient } from "./cohorts-client.js";

/**
 * The cohort id of the credential probe. No cohort is created under it: the
 * probe sends an empty `cohort_changes`, which Braze accepts after checking
 * both keys and the partner (Segment's Braze Cohorts destination tests
 * credentials the same way), and no user's membership changes.
 */
export const PROBE_COHORT_ID = "coho-credential-check";

/**
 * Proves a Cohort Import destination's endpoint, partner and both keys with one
 * request that changes nothing Braze users can see. Throws BrazeApiError (with a
 * hint naming the config key and environment variable) or, for an unset
 * variable, the Secret's own error. Retries once only: a check should answer fast.
 */
export async function probeCohortImport(config: BrazeCohortsConfig, options: { timeoutMs?: number } = {}): Promise<void> {
  // Unset variables fail here, before any request.
  config.partnerApiKey.reveal();
  config.dataImportKey.reveal();
  const client = new BrazeClient({
    endpoint: config.restEndpoint,
    partner: config.partner,
    partnerApiKey: config.partnerApiKey,
    dataImportKey: config.dataImportKey,
    destination: config.name,
    concurrency: 1,
    timeoutMs: options.timeoutMs ?? 10_000,
    retry: { maxAttempts: 2, baseDelayMs: 200 },
  });
  try {
    await client.sendBatch(PROBE_COHORT_ID, { add: [], remove: [] });
  } finally {
    await client.close();
  }
}
