import type { DestinationClient, MemberRefusal, MembershipBatch } from "../destinations/destination.js";
import { isRetarget, needsPrepare, type CohortAttributes, type CohortPlan, type Plan } from "../model/plan.js";
import type { ModelConfig, Project } from "../model/project.js";
import type { CohortState, StateView } from "../model/state.js";
import type { MembershipDelta } from "../plan/membership-diff.js";
import { sqlDigest } from "../plan/config-digest.js";
import { dbtModelState } from "../dbt/plan-info.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { DestinationClients } from "../destinations/clients.js";
import type { ApplyEventListener } from "./events.js";
import type { CohortEntryMeta, JournalStore } from "../state/journal.js";
import type { CohortReport } from "./report.js";
import { CohoError } from "../model/errors.js";
import { isStateFailure } from "../state/storage-error.js";
import { destinationIdentity } from "../destinations/identity.js";

export interface ExecuteContext {
  readonly project: Project;
  readonly engine: DuckDbEngine;
  readonly clients: DestinationClients;
  readonly journal: JournalStore;
  readonly now: () => Date;
  readonly onEvent?: ApplyEventListener;
  /** True once SIGINT/SIGTERM asked to stop: no new batch starts. */
  readonly shouldStop: () => boolean;
  /** Told of an error after which no state can be recorded (set by executePlan itself). */
  readonly onStateFailure?: (error: unknown) => void;
  /** Cohorts worked on at once. Default 4. */
  readonly cohortConcurrency?: number;
}

/**
 * Carries out a plan: per cohort, the cohort upsert, then membership batches,
 * each journaled before it is sent and acknowledged after. Cohorts proceed
 * concurrently; one cohort's failure does not stop the others. State is not
 * written here: the caller folds the journal afterwards.
 */
/** A plan with its deltas as engine tables, fresh or loaded from a saved plan file. */
export interface ExecutablePlan {
  readonly plan: Plan;
  readonly state: StateView;
  readonly deltas: ReadonlyMap<string, Pick<MembershipDelta, "addTable" | "removeTable">>;
}

export async function executePlan(outer: ExecuteContext, planned: ExecutablePlan): Promise<CohortReport[]> {
  // A state failure (journal not writable, lock lost) stops every cohort at once:
  // nothing may be sent that cannot be recorded. It is thrown once all in-flight work ended.
  let fatal: unknown;
  const ctx: ExecuteContext = {
    ...outer,
    shouldStop: () => fatal !== undefined || outer.shouldStop(),
    onStateFailure: (error: unknown) => (fatal ??= error),
  };
  const work = planned.plan.cohorts.filter((c) => !(c.actions.length === 1 && c.actions[0] === "no-op"));
  const reports: CohortReport[] = [];
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const cohort = work[next++]!;
      reports.push(await executeCohort(ctx, planned, cohort));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, ctx.cohortConcurrency ?? 4) }, worker));
  if (fatal !== undefined) throw fatal;
  return reports.sort((a, b) => (a.address < b.address ? -1 : 1));
}

async function executeCohort(ctx: ExecuteContext, planned: ExecutablePlan, cohort: CohortPlan): Promise<CohortReport> {
  const started = Date.now();
  const delta = planned.deltas.get(cohort.address)!;
  const isDelete = cohort.after === null;
  const prior: CohortState | undefined = planned.state.cohorts[cohort.moved_from ?? cohort.address];
  const after = cohort.after ?? cohort.before!;
  const cohortId = after.cohort_id;
  const rejected = Object.values(cohort.rejected).reduce((a, b) => a + b, 0);
  let added = 0;
  let removed = 0;
  let requests = 0;
  const refusals: MemberRefusal[] = [];
  const retriesBefore = new Map<string, number>();
  const report = (status: CohortReport["status"], error?: string, hint?: string): CohortReport => ({
    address: cohort.address,
    actions: cohort.actions,
    status,
    added,
    removed,
    rejected,
    failed: status === "done" ? 0 : cohort.members.add + cohort.members.remove - added - removed - refusals.length,
    refused: refusals.length,
    ...(refusals.length > 0 ? { refusals: countByMessage(refusals) } : {}),
    requests,
    retries: [...retriesBefore].reduce((n, [destination, before]) => n + ctx.clients.get(destination).retries - before, 0),
    duration_ms: Date.now() - started,
    ...(error ? { error } : {}),
    ...(hint ? { hint } : {}),
  });
  if (ctx.shouldStop()) return report("skipped");
  ctx.onEvent?.({ type: "cohort_start", address: cohort.address, total: cohort.members.add + cohort.members.remove });

  // A new destination or a new binding inside it (e.g. another attribute): leave the old, join the new.
  const retarget = isRetarget(cohort.changed_attributes);
  let seq = 0;
  try {
    await ctx.journal.append({
      t: "cohort",
      address: cohort.address,
      ...(cohort.moved_from ? { moved_from: cohort.moved_from } : {}),
      retarget,
      entry: isDelete ? metaFromState(prior!) : metaFromConfig(ctx.project, cohort),
      prior_name: prior?.name ?? null,
    });
    const client = (destination: string): DestinationClient => {
      if (!ctx.project.destinations.has(destination)) {
        throw new Error(`destination ${destination} is no longer configured; keep it in the config until this change is applied`);
      }
      const c = ctx.clients.get(destination);
      if (!retriesBefore.has(destination)) retriesBefore.set(destination, c.retries);
      return c;
    };
    if (needsPrepare(cohort)) {
      const createdAt = ctx.now().toISOString();
      await ctx.journal.append({ t: "upsert", address: cohort.address, destination: after.destination, cohort_id: cohortId, name: after.name, created_at: createdAt });
      requests += await client(after.destination).prepare({ cohortId, name: after.name, createdAt });
      await ctx.journal.append({ t: "upsert_ack", address: cohort.address });
    }
    const send = async (side: CohortAttributes, adds: string | undefined, removes: string | undefined) => {
      const seqBase = seq;
      const { destination, target } = side;
      const result = await client(destination).syncMembership({ cohortId, target }, flatten(ctx.engine, adds), flatten(ctx.engine, removes), {
        beforeSend: async (batch: MembershipBatch) => {
          seq = Math.max(seq, seqBase + batch.index + 1);
          await ctx.journal.append({ t: "batch", address: cohort.address, seq: seqBase + batch.index, destination, cohort_id: cohortId, ...(target === undefined ? {} : { target }), add: batch.add, remove: batch.remove });
        },
        acknowledged: async (batch: MembershipBatch, refused: readonly MemberRefusal[]) => {
          const refusedKeys = new Set(refused.map((r) => r.key));
          await ctx.journal.append({ t: "ack", address: cohort.address, seq: seqBase + batch.index, ...(refused.length > 0 ? { refused: [...refusedKeys] } : {}) });
          added += batch.add.filter((k) => !refusedKeys.has(k)).length;
          removed += batch.remove.filter((k) => !refusedKeys.has(k)).length;
          refusals.push(...refused);
          requests++;
          ctx.onEvent?.({ type: "batch_acked", address: cohort.address, identifiers: batch.add.length + batch.remove.length - refused.length });
        },
        shouldStop: ctx.shouldStop,
      });
      return result.stopped;
    };
    let stopped: boolean;
    if (retarget && (cohort.before!.destination !== after.destination || cohort.before!.target !== after.target)) {
      // Leave the old workspace (or the old attribute binding) first, then join the new one.
      stopped = (await send(cohort.before!, undefined, delta.removeTable)) || (await send(after, delta.addTable, undefined));
    } else {
      stopped = await send(after, isDelete ? undefined : delta.addTable, delta.removeTable);
    }
    if (stopped) return finish(ctx, report("stopped"));
    // Refused members stay pending: a delete is forgotten only once every removal went through.
    if (isDelete && refusals.length === 0) await ctx.journal.append({ t: "forget", address: cohort.address });
    return finish(ctx, report(refusals.length > 0 ? "partial" : "done"));
  } catch (error) {
    if (isStateFailure(error)) ctx.onStateFailure?.(error);
    // A request Braze answered (with a refusal) was still a request: count it.
    if (typeof (error as { status?: unknown }).status === "number") requests++;
    const hint = error instanceof CohoError ? error.hint : undefined;
    return finish(ctx, report("failed", error instanceof Error ? error.message : String(error), hint));
  }
}

function finish(ctx: ExecuteContext, report: CohortReport): CohortReport {
  ctx.onEvent?.({ type: "cohort_done", address: report.address, status: report.status });
  return report;
}

async function* flatten(engine: DuckDbEngine, table: string | undefined): AsyncGenerator<string> {
  if (!table) return;
  for await (const batch of engine.keys(table)) yield* batch;
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
    identifier: {
      name: identifier.name,
      type: identifier.type,
      column: identifier.column,
      ...(identifier.type === "alias" ? { label: identifier.label } : {}),
    },
    model: { name: model.name, sql_digest: sqlDigest(model.sql), sql: model.sql, ...dbtEntry(model) },
    prevent_destroy: after.prevent_destroy,
    ...(after.target === undefined ? {} : { target: after.target }),
  };
}

/** Braze's messages for refused members, with how many members each. */
function countByMessage(refusals: readonly MemberRefusal[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { message } of refusals) counts[message] = (counts[message] ?? 0) + 1;
  return counts;
}

function dbtEntry(model: ModelConfig): { dbt?: CohortState["model"]["dbt"] } {
  const dbt = dbtModelState(model);
  return dbt ? { dbt } : {};
}

function metaFromState(entry: CohortState): CohortEntryMeta {
  const { members: _members, snapshot: _snapshot, applied_at: _applied, refused: _refused, ...meta } = entry;
  return meta;
}
