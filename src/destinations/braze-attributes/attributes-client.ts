import type { MemberKey } from "../../model/member-key.js";
import type { BrazeAttributesConfig } from "../../model/project.js";
import type { AttributeBinding } from "../../model/project.js";
import type { ClientOptions, DestinationClient, MemberRefusal, MembershipHooks, MembershipResult, MembershipTarget, MergedHooks, MergedUser, ProbeResult, ReadBackValue } from "../destination.js";
import { BrazeApiError } from "../shared/destination-error.js";
import { packBatches, type MembershipBatch } from "../shared/pack-batches.js";
import { PacedPoster, type FinalOutcome } from "../shared/paced-poster.js";
import { streamBatches } from "../shared/stream-batches.js";
import { packUsers, streamMerged } from "../shared/stream-merged.js";
import { attributesRequestBody, mergedAttributeObjects, refusedIndexes } from "./attributes-body.js";
import { parseBindingTarget } from "./binding.js";
import { readBackAttributes } from "./export-ids.js";
import { attributesHint } from "./hints.js";

/**
 * Braze's public road (`braze_attributes`): membership as a custom attribute,
 * written with POST /users/track in batches of `batch_size` objects, one object
 * per member, over the shared paced poster (X-RateLimit-* pacing, retries on
 * 429/5xx/drops, never on 400/401/403). A 201 may refuse single objects by index:
 * those members are reported, never acknowledged. The REST API key travels only
 * in the Authorization header and never appears in errors or events.
 */
export class AttributesClient implements DestinationClient {
  readonly #config: BrazeAttributesConfig;
  readonly #poster: PacedPoster;
  /**
   * /users/export/ids has its own rate limit (250/min on new workspaces): its own
   * pacing by its X-RateLimit-* headers. verify reads one request at a time;
   * apply's confirmations (missing_profiles: wait) come from concurrent batches.
   */
  readonly #exportPoster: PacedPoster;
  readonly #options: ClientOptions;

  constructor(config: BrazeAttributesConfig, options: ClientOptions) {
    this.#config = config;
    this.#options = options;
    const secrets = () => [config.apiKey.reveal()];
    this.#poster = new PacedPoster({ ...options, endpoint: config.restEndpoint, secrets });
    this.#exportPoster = new PacedPoster({ ...options, endpoint: config.restEndpoint, secrets });
  }

  get retries(): number {
    return this.#poster.retries + this.#exportPoster.retries;
  }

  /** Attributes need no container: nothing to prepare, no request. */
  async prepare(): Promise<number> {
    return 0;
  }

  async syncMembership(
    target: MembershipTarget,
    adds: AsyncIterable<MemberKey> | Iterable<MemberKey>,
    removes: AsyncIterable<MemberKey> | Iterable<MemberKey>,
    hooks: MembershipHooks = {},
  ): Promise<MembershipResult> {
    const retriesBefore = this.retries;
    const batches = packBatches(adds, removes, this.#config.batchSize);
    const sent = await streamBatches(batches, () => this.#poster.concurrency, hooks, (batch) => this.resend(target, batch));
    return { ...sent, retries: this.retries - retriesBefore };
  }

  /**
   * Several array-attribute cohorts' changes in shared requests: one object per
   * user with every value it gains and loses, so a user moving from one cohort to
   * another is one object, and requests = ceil(users / batch_size).
   */
  async syncMerged(targets: readonly MembershipTarget[], users: AsyncIterable<MergedUser>, hooks: MergedHooks = {}): Promise<MembershipResult> {
    const retriesBefore = this.retries;
    const bindings = targets.map((target) => this.#binding(target));
    const names = [...new Set(bindings.map((b) => b.name))];
    // Named in events and errors: a few attributes, then how many more (a set may bind hundreds).
    const name = names.length > 3 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ");
    const sent = await streamMerged(packUsers(users, this.#config.batchSize), () => this.#poster.concurrency, hooks, (batch) =>
      this.#track(JSON.stringify({ attributes: mergedAttributeObjects(bindings, batch.users, this.#config.updateExistingOnly) }), batch.users.map((u) => u.key), name, batch.users.filter((u) => u.add.length > 0).map((u) => u.key)),
    );
    return { ...sent, retries: this.retries - retriesBefore };
  }

  /** One /users/track request for one batch; the members Braze refused by index. */
  async resend(target: MembershipTarget, batch: Pick<MembershipBatch, "add" | "remove">): Promise<readonly MemberRefusal[]> {
    const binding = this.#binding(target);
    return this.#track(attributesRequestBody(binding, batch.add, batch.remove, this.#config.updateExistingOnly), [...batch.add, ...batch.remove], binding.name, batch.add);
  }

  /**
   * POSTs a body of attributes objects (`keys[i]` names object i); the members
   * Braze refused by index, and under `missing_profiles: wait` the additions
   * (`adds`) it has no profile for, as unconfirmed.
   */
  async #track(body: string, keys: readonly MemberKey[], attribute: string, adds: readonly MemberKey[]): Promise<readonly MemberRefusal[]> {
    const result = await this.#poster.post("/users/track", body, { endpoint: "users/track", cohortId: attribute, identifiers: keys.length }, this.#auth());
    const answered = result.ok ? result.body : result.outcome?.kind === "fatal" && result.outcome.status === 400 ? result.outcome.body : undefined;
    const refused = answered === undefined ? new Map<number, string>() : refusedIndexes(answered);
    // A 400 that names objects refused them all one by one: a partial answer, not a broken request.
    if (!result.ok && refused.size === 0) throw this.#failure(result, "users.track", `membership update of attribute ${attribute}`);
    const refusals = [...refused].filter(([index]) => index >= 0 && index < keys.length).map(([index, message]) => ({ key: keys[index]!, message: this.#poster.redact(message) }));
    if (this.#config.missingProfiles !== "wait" || adds.length === 0) return refusals;
    const refusedKeys = new Set(refusals.map((r) => r.key));
    return [...refusals, ...(await this.#unconfirmed(adds.filter((key) => !refusedKeys.has(key)), attribute))];
  }

  /**
   * The additions Braze has no profile for. /users/track answers 201 for an
   * update-only object whose user does not exist and names it nowhere (Braze
   * documents `attributes_processed` as objects queued), so only a read-back can
   * tell: one /users/export/ids request per 50 members, existence only. A user
   * exported exists, so Braze applies the update-only write queued for it.
   */
  async #unconfirmed(adds: readonly MemberKey[], attribute: string): Promise<MemberRefusal[]> {
    if (adds.length === 0) return [];
    const found = await readBackAttributes(undefined, adds, async (body, count) => {
      const result = await this.#exportPoster.post("/users/export/ids", body, { endpoint: "users/export/ids", cohortId: attribute, identifiers: count }, this.#auth());
      if (!result.ok) throw this.#failure(result, "users.export.ids", `confirmation of additions to attribute ${attribute} (missing_profiles: wait reads them back)`);
      return result.body;
    });
    return adds.filter((key) => found.get(key)?.kind !== "value").map((key) => ({ key, message: "no Braze profile: not confirmed, sent again on the next apply", unconfirmed: true as const }));
  }

  #binding(target: MembershipTarget): AttributeBinding {
    const binding = parseBindingTarget(target.target);
    if (!binding) throw new BrazeApiError({ status: undefined, brazeMessage: "no attribute binding recorded", attempts: 0, context: `membership update for ${target.cohortId}` });
    return binding;
  }

  /**
   * The safest check that changes nothing anyone can see: POST /users/track with an
   * empty attributes array. Braze authenticates and checks the permission first
   * (401 bad key, 403 no users.track), then finds nothing to do (201 or 400).
   */
  async probe(): Promise<ProbeResult> {
    const result = await this.#poster.post("/users/track", JSON.stringify({ attributes: [] }), { endpoint: "users/track", cohortId: "probe", identifiers: 0 }, this.#auth());
    const status = result.ok ? result.status : result.outcome?.status;
    if (result.ok || status === 400) return { ok: true, message: "the REST API key was accepted with users.track (an empty /users/track request: nothing changed)" };
    const error = this.#failure(result, "users.track", "credential check");
    return { ok: false, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  }

  async readBack(target: MembershipTarget, keys: readonly MemberKey[]): Promise<ReadonlyMap<MemberKey, ReadBackValue>> {
    const binding = parseBindingTarget(target.target);
    if (!binding) return new Map();
    return readBackAttributes(binding.name, keys, async (body, count) => {
      const result = await this.#exportPoster.post("/users/export/ids", body, { endpoint: "users/export/ids", cohortId: binding.name, identifiers: count }, this.#auth());
      if (!result.ok) throw this.#failure(result, "users.export.ids", `read-back of attribute ${binding.name}`);
      return result.body;
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.#poster.close(), this.#exportPoster.close()]);
  }

  #auth(): Record<string, string> {
    // The only place the key is revealed: into the request's Authorization header.
    return { authorization: `Bearer ${this.#config.apiKey.reveal()}` };
  }

  #failure(result: Extract<FinalOutcome, { ok: false }>, permission: "users.track" | "users.export.ids", what: string): BrazeApiError {
    const outcome = result.outcome;
    const message = this.#poster.redact(outcome?.reason ?? "no attempt was made");
    const hint = attributesHint(outcome?.status, this.#config.name, this.#config.apiKey.source, permission);
    const error = new BrazeApiError({ status: outcome?.status, brazeMessage: message, attempts: result.attempts, context: `${what} (destination ${this.#config.name})`, ...(hint === undefined ? {} : { hint }) });
    this.#options.onEvent?.({ type: "failed", endpoint: permission === "users.track" ? "users/track" : "users/export/ids", cohortId: what, message: error.message, ...(outcome?.status === undefined ? {} : { status: outcome.status }) });
    return error;
  }
}
