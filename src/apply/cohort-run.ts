import type { DestinationClient, MemberRefusal } from "../destinations/destination.js";
import { isRetarget, needsPrepare, type CohortAttributes, type CohortPlan } from "../model/plan.js";
import type { IdentifierConfig, ModelConfig, Project, SingleIdentifierConfig } from "../model/project.js";
import type { CohortState } from "../model/state.js";
import { sqlDigest } from "../plan/config-digest.js";
import { dbtModelState, dbtRefsState } from "../dbt/plan-info.js";
import type { CohortEntryMeta } from "../state/journal.js";
import { CohoError } from "../model/errors.js";
import { isStateFailure } from "../state/storage-error.js";
import { destinationIdentity } from "../destinations/identity.js";
import type { ExecutablePlan, ExecuteContext } from "./execute-plan.js";
import type { CohortReport } from "./report.js";

/**
 * One cohort's part of an apply: its journal entries (cohort, upsert, batch, ack,
 * forget), its counters and its report. Sending is the caller's: alone, or as a
 * part of a request group shared with other cohorts.
 */
export class CohortRun {
  readonly cohort: CohortPlan;
  readonly delta: ExecutablePlan["deltas"] extends ReadonlyMap<string, infer D> ? D : never;
  readonly isDelete: boolean;
  readonly prior: CohortState | undefined;
  /** The side its changes are written to (the old one for a delete). */
  readonly after: CohortAttributes;
  readonly cohortId: string;
  readonly retarget: boolean;
  added = 0;
  removed = 0;
  requests = 0;
  readonly refusals: MemberRefusal[] = [];
  /** Additions Braze took but has no profile for (missing_profiles: wait): not recorded, sent again. */
  unconfirmed = 0;
  /** Next journal sequence number of this cohort's batches. */
  seq = 0;
  readonly #ctx: ExecuteContext;
  readonly #started = Date.now();
  readonly #retriesBefore = new Map<string, number>();

  constructor(ctx: ExecuteContext, planned: ExecutablePlan, cohort: CohortPlan) {
    this.#ctx = ctx;
    this.cohort = cohort;
    this.delta = planned.deltas.get(cohort.address)!;
    this.isDelete = cohort.after === null;
    this.prior = planned.state.cohorts[cohort.moved_from ?? cohort.address];
    this.after = cohort.after ?? cohort.before!;
    this.cohortId = this.after.cohort_id;
    this.retarget = isRetarget(cohort.changed_attributes);
  }

  report(status: CohortReport["status"], error?: string, hint?: string): CohortReport {
    const { cohort, refusals } = this;
    return {
      address: cohort.address,
      actions: cohort.actions,
      status,
      added: this.added,
      removed: this.removed,
      rejected: Object.values(cohort.rejected).reduce((a, b) => a + b, 0),
      failed: status === "done" ? 0 : cohort.members.add + (cohort.refresh?.members ?? 0) + cohort.members.remove - this.added - this.removed - refusals.length - this.unconfirmed,
      refused: refusals.length,
      unconfirmed: this.unconfirmed,
      ...(refusals.length > 0 ? { refusals: countByMessage(refusals) } : {}),
      requests: this.requests,
      retries: [...this.#retriesBefore].reduce((n, [destination, before]) => n + this.#ctx.clients.get(destination).retries - before, 0),
      duration_ms: Date.now() - this.#started,
      ...(error ? { error } : {}),
      ...(hint ? { hint } : {}),
    };
  }

  /** The destination's client; its retries from now on count in this cohort's report. */
  client(destination: string): DestinationClient {
    if (!this.#ctx.project.destinations.has(destination)) {
      throw new Error(`destination ${destination} is no longer configured; keep it in the config until this change is applied`);
    }
    const c = this.#ctx.clients.get(destination);
    if (!this.#retriesBefore.has(destination)) this.#retriesBefore.set(destination, c.retries);
    return c;
  }

  /** From now on this cohort's report counts no retries (another cohort of its request group counts them). */
  leaveRetriesToOthers(): void {
    this.#retriesBefore.clear();
  }

  /** Journals the cohort and readies its container (the cohort road's upsert). */
  async begin(): Promise<void> {
    const { cohort, prior, after } = this;
    const prepares = needsPrepare(cohort);
    this.#ctx.onEvent?.({ type: "cohort_start", address: cohort.address, total: cohort.members.add + (cohort.refresh?.members ?? 0) + cohort.members.remove });
    await this.#ctx.journal.append({
      t: "cohort",
      address: cohort.address,
      ...(cohort.moved_from ? { moved_from: cohort.moved_from } : {}),
      retarget: this.retarget,
      entry: this.isDelete ? metaFromState(prior!) : { ...metaFromConfig(this.#ctx.project, cohort), ...refreshedAt(cohort, prior, this.retarget, this.#ctx.now()) },
      prior_name: prior?.name ?? null,
      ...(prepares ? { prepares: true as const } : {}),
    });
    if (prepares) {
      const createdAt = this.#ctx.now().toISOString();
      await this.#ctx.journal.append({ t: "upsert", address: cohort.address, destination: after.destination, cohort_id: this.cohortId, name: after.name, created_at: createdAt });
      this.requests += await this.client(after.destination).prepare({ cohortId: this.cohortId, name: after.name, createdAt });
      await this.#ctx.journal.append({ t: "upsert_ack", address: cohort.address });
    }
  }

  /** Journals a batch of this cohort before it is sent. */
  async journalBatch(seq: number, side: CohortAttributes, add: readonly string[], remove: readonly string[]): Promise<void> {
    const { destination, target } = side;
    await this.#ctx.journal.append({ t: "batch", address: this.cohort.address, seq, destination, cohort_id: this.cohortId, ...(target === undefined ? {} : { target }), add, remove });
  }

  /**
   * Journals Braze's answer to a batch: everything but `refused` is acknowledged.
   * Unconfirmed additions (no Braze profile) are journaled as refused — never
   * folded — and listed again under `unconfirmed`, so state counts them apart.
   */
  async acknowledge(seq: number, add: readonly string[], remove: readonly string[], refused: readonly MemberRefusal[]): Promise<void> {
    const refusedKeys = new Set(refused.map((r) => r.key));
    const unconfirmed = [...new Set(refused.filter((r) => r.unconfirmed).map((r) => r.key))];
    await this.#ctx.journal.append({
      t: "ack",
      address: this.cohort.address,
      seq,
      ...(refused.length > 0 ? { refused: [...refusedKeys] } : {}),
      ...(unconfirmed.length > 0 ? { unconfirmed } : {}),
    });
    // Almost always nothing was refused: then every member counts, without a look-up each.
    this.added += refused.length === 0 ? add.length : add.filter((k) => !refusedKeys.has(k)).length;
    this.removed += refused.length === 0 ? remove.length : remove.filter((k) => !refusedKeys.has(k)).length;
    this.refusals.push(...refused.filter((r) => !r.unconfirmed));
    this.unconfirmed += unconfirmed.length;
    this.#ctx.onEvent?.({ type: "batch_acked", address: this.cohort.address, identifiers: add.length + remove.length - refused.length });
  }

  /** Every batch answered: a delete is forgotten once every removal went through. */
  async end(stopped: boolean): Promise<CohortReport> {
    if (stopped) return this.finish(this.report("stopped"));
    // Refused members stay pending: a delete is forgotten only once every removal went through.
    if (this.isDelete && this.refusals.length === 0) await this.#ctx.journal.append({ t: "forget", address: this.cohort.address });
    return this.finish(this.report(this.refusals.length > 0 ? "partial" : "done"));
  }

  /** The report of a cohort whose work threw; a state failure stops the whole apply. */
  fail(error: unknown): CohortReport {
    if (isStateFailure(error)) this.#ctx.onStateFailure?.(error);
    const hint = error instanceof CohoError ? error.hint : undefined;
    return this.finish(this.report("failed", error instanceof Error ? error.message : String(error), hint));
  }

  finish(report: CohortReport): CohortReport {
    this.#ctx.onEvent?.({ type: "cohort_done", address: report.address, status: report.status });
    return report;
  }
}

/**
 * When the cohort was last sent whole: now for a new cohort, a re-target or a
 * refresh (every member's addition goes out), else what state recorded.
 */
function refreshedAt(cohort: CohortPlan, prior: CohortState | undefined, retarget: boolean, now: Date): { refreshed_at?: string } {
  if (!prior || retarget || cohort.refresh) return { refreshed_at: now.toISOString() };
  return prior.refreshed_at ? { refreshed_at: prior.refreshed_at } : {};
}

function metaFromConfig(project: Project, cohort: CohortPlan): CohortEntryMeta {
  const after = cohort.after!;
  const model = project.models.get(after.model)!;
  const identifier = project.identifiers.get(after.identifier)!;
  const destination = project.destinations.get(after.destination);
  return {
    destination: after.destination,
    ...(destination ? { destination_identity: destinationIdentity(destination) } : {}),
    cohort_id: after.cohort_id,
    name: after.name,
    identifier: identifierRecord(identifier),
    model: { name: model.name, sql_digest: sqlDigest(model.sql), sql: model.sql, ...dbtEntry(model) },
    prevent_destroy: after.prevent_destroy,
    ...(after.target === undefined ? {} : { target: after.target }),
  };
}

/** The lockfile record of an identifier; a list records each part, and its columns in `column`. */
function identifierRecord(identifier: IdentifierConfig): CohortEntryMeta["identifier"] {
  const single = (part: SingleIdentifierConfig) => ({ name: part.name, type: part.type, column: part.column, ...(part.type === "alias" ? { label: part.label } : {}) });
  if (identifier.type !== "first_of") return single(identifier);
  return { name: identifier.name, type: "first_of", column: identifier.parts.map((p) => p.column).join(", "), parts: identifier.parts.map(single) };
}

/** Braze's messages for refused members, with how many members each. */
function countByMessage(refusals: readonly MemberRefusal[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { message } of refusals) counts[message] = (counts[message] ?? 0) + 1;
  return counts;
}

function dbtEntry(model: ModelConfig): Pick<CohortState["model"], "dbt" | "dbt_refs"> {
  const dbt = dbtModelState(model);
  const refs = dbtRefsState(model);
  return { ...(dbt ? { dbt } : {}), ...(refs ? { dbt_refs: refs } : {}) };
}

function metaFromState(entry: CohortState): CohortEntryMeta {
  const { members: _members, snapshot: _snapshot, snapshot_sha256: _sha256, applied_at: _applied, refused: _refused, unconfirmed: _unconfirmed, ...meta } = entry;
  return meta;
}
