import type { MemberKey } from "../../model/member-key.js";
import type { Secret } from "../../model/secret.js";
import type { ClientOptions, DestinationClient, MemberRefusal, MembershipHooks, MembershipResult, MembershipTarget, ProbeResult } from "../destination.js";
import { BrazeApiError } from "../shared/destination-error.js";
import { PacedPoster } from "../shared/paced-poster.js";
import { packBatches, type MembershipBatch } from "../shared/pack-batches.js";
import { streamBatches } from "../shared/stream-batches.js";
import { hintFor } from "./hints.js";
import { cohortChanges } from "./membership-body.js";

/** Braze's cap, counted across every identifier of every cohort_changes entry. */
export const MAX_IDENTIFIERS_PER_REQUEST = 1000;

export interface BrazeClientOptions extends ClientOptions {
  /** Base URL, e.g. https://rest.iad-01.braze.com (http only for loopback). */
  readonly endpoint: string;
  readonly partner: string;
  readonly partnerApiKey: Secret;
  readonly dataImportKey: Secret;
  /** Destination name, for hints in errors. */
  readonly destination?: string;
}

type CohortEndpoint = "cohorts" | "cohorts/users";

/**
 * Braze's partner Cohort Import API (the `braze_cohorts` road): cohort upserts and
 * membership batches of at most 1,000 identifiers, over the shared paced poster.
 * Credentials travel only in request bodies and never appear in errors or events.
 */
export class BrazeClient implements DestinationClient {
  readonly #options: BrazeClientOptions;
  readonly #poster: PacedPoster;

  constructor(options: BrazeClientOptions) {
    this.#options = options;
    this.#poster = new PacedPoster({ ...options, secrets: () => [options.partnerApiKey.reveal(), options.dataImportKey.reveal()] });
  }

  get retries(): number {
    return this.#poster.retries;
  }

  async prepare(cohort: { cohortId: string; name: string; createdAt: string }): Promise<number> {
    await this.upsertCohort(cohort);
    return 1;
  }

  /** Creates or renames a cohort (an upsert keyed by cohort_id). */
  async upsertCohort(cohort: { cohortId: string; name: string; createdAt: Date | string }): Promise<void> {
    const createdAt = typeof cohort.createdAt === "string" ? cohort.createdAt : cohort.createdAt.toISOString();
    await this.#post("cohorts", cohort.cohortId, 0, { cohort_id: cohort.cohortId, name: cohort.name, created_at: createdAt });
  }

  /** Sends one batch of membership changes (at most 1,000 identifiers). */
  async sendBatch(cohortId: string, batch: Pick<MembershipBatch, "add" | "remove">): Promise<void> {
    const identifiers = batch.add.length + batch.remove.length;
    await this.#post("cohorts/users", cohortId, identifiers, { cohort_id: cohortId, cohort_changes: cohortChanges(batch.add, batch.remove) });
  }

  async resend(target: MembershipTarget, batch: Pick<MembershipBatch, "add" | "remove">): Promise<readonly MemberRefusal[]> {
    await this.sendBatch(target.cohortId, batch);
    return [];
  }

  /** Exactly ceil(n / 1,000) requests. Cohort Import refuses whole requests only: nothing is ever refused per member. */
  async syncMembership(
    target: MembershipTarget | string,
    adds: AsyncIterable<MemberKey> | Iterable<MemberKey>,
    removes: AsyncIterable<MemberKey> | Iterable<MemberKey>,
    hooks: MembershipHooks = {},
  ): Promise<MembershipResult> {
    const cohortId = typeof target === "string" ? target : target.cohortId;
    const retriesBefore = this.retries;
    const batches = packBatches(adds, removes, MAX_IDENTIFIERS_PER_REQUEST);
    const sent = await streamBatches(batches, () => this.#poster.concurrency, hooks, async (batch) => {
      await this.sendBatch(cohortId, batch);
      return [];
    });
    return { ...sent, retries: this.retries - retriesBefore };
  }

  /**
   * Cohort Import has no read-only endpoint. The least visible check: a membership
   * request with no changes for a cohort id coho never uses. Braze authenticates
   * before it validates, so 2xx or 400 (nothing to change) means both keys and the
   * partner were accepted; 401 names what is wrong. Nothing is created or changed.
   */
  async probe(): Promise<ProbeResult> {
    const body = JSON.stringify({ partner_api_key: this.#options.partnerApiKey.reveal(), client_secret: this.#options.dataImportKey.reveal(), cohort_id: "coho-credential-check", cohort_changes: [] });
    const path = `/partners/${encodeURIComponent(this.#options.partner)}/cohorts/users`;
    const result = await this.#poster.post(path, body, { endpoint: "cohorts/users", cohortId: "coho-credential-check", identifiers: 0 });
    const status = result.ok ? result.status : result.outcome?.status;
    if (result.ok || status === 400) return { ok: true, message: "partner API key, data import key and partner accepted (an empty membership request: nothing changed)" };
    const message = this.#poster.redact(result.ok ? "" : (result.outcome?.reason ?? "no answer"));
    const hint = hintFor(status, message, this.#options.destination ?? "braze", { partnerApiKey: this.#options.partnerApiKey.source, dataImportKey: this.#options.dataImportKey.source });
    return { ok: false, message: `Braze answered ${status === undefined ? "nothing" : `HTTP ${status}`}: ${message}`, ...(hint === undefined ? {} : { hint }) };
  }

  async close(): Promise<void> {
    await this.#poster.close();
  }

  async #post(endpoint: CohortEndpoint, cohortId: string, identifiers: number, fields: Record<string, unknown>): Promise<void> {
    // The only place credentials are revealed: into the request body.
    const body = JSON.stringify({ partner_api_key: this.#options.partnerApiKey.reveal(), client_secret: this.#options.dataImportKey.reveal(), ...fields });
    const path = `/partners/${encodeURIComponent(this.#options.partner)}/${endpoint}`;
    const result = await this.#poster.post(path, body, { endpoint, cohortId, identifiers });
    if (result.ok) return;
    const outcome = result.outcome;
    const message = this.#poster.redact(outcome?.reason ?? "no attempt was made");
    const destination = this.#options.destination ?? "braze";
    const hint = hintFor(outcome?.status, message, destination, { partnerApiKey: this.#options.partnerApiKey.source, dataImportKey: this.#options.dataImportKey.source });
    const error = new BrazeApiError({
      status: outcome?.status,
      brazeMessage: message,
      attempts: result.attempts,
      context: `${endpoint === "cohorts" ? "cohort upsert" : "membership update"} for cohort ${cohortId} (destination ${destination})`,
      ...(hint === undefined ? {} : { hint }),
    });
    this.#options.onEvent?.({ type: "failed", endpoint, cohortId, message: error.message, ...(outcome?.status === undefined ? {} : { status: outcome.status }) });
    throw error;
  }
}
