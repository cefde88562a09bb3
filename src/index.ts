/**
 * coho's programmatic API: the operations the CLI runs, without the CLI. Nothing
 * here prints, exits, or reads stdin; progress arrives as events (`onEvent`),
 * results come back as data, and expected failures throw CohoError (stable `code`).
 */
import { resolve } from "node:path";
import { OFFLINE_SECRETS, type SecretNeeds } from "./config/interpolate-document.js";
import { NO_SECRETS } from "./model/secret-needs.js";
import type { LoadResult } from "./config/load-project.js";
import { CohoError, DiagnosticsError } from "./model/errors.js";
import type { Plan } from "./model/plan.js";
import type { Project } from "./model/project.js";
import { apply as applyOperation, type Approval, type ApplyResult } from "./operations/apply.js";
import type { EventSink, Tuning } from "./operations/events.js";
import { plan as planOperation } from "./operations/plan.js";
import { dbtExposures as dbtExposuresOperation, type DbtExposuresResult } from "./operations/dbt-exposures.js";
import { validate as validateOperation } from "./operations/validate.js";

export type { Diagnostic, SourceLocation } from "./model/diagnostic.js";
export { CohoError, DiagnosticsError } from "./model/errors.js";
export type { Plan, CohortPlan, PlanSummary, Action } from "./model/plan.js";
export type { Project } from "./model/project.js";
export type { ApplyReport, CohortReport, CohortStatus } from "./apply/report.js";
export type { ApplyEvent } from "./apply/events.js";
export type { ApplyOutcome, EventSink, OperationEvent, Tuning } from "./operations/events.js";
export type { Approval, ApplyResult } from "./operations/apply.js";
export type { LoadResult } from "./config/load-project.js";
export type { DbtExposuresResult } from "./operations/dbt-exposures.js";
export { BrazeClient } from "./destinations/braze-cohorts/cohorts-client.js";
export { AttributesClient } from "./destinations/braze-attributes/attributes-client.js";
export type { DestinationClient } from "./destinations/destination.js";
export { startEmulator, type RunningEmulator } from "./emulator/server.js";
export { memberDigest } from "./state/member-digest.js";

type Env = Readonly<Record<string, string | undefined>>;

/** Checks the project in `dir` (coho.yaml and its includes), offline. */
export function validate(dir: string, env: Env = process.env): LoadResult {
  // Offline: unset Braze keys are warnings, as in `coho validate`.
  return validateOperation({ dir, env, secrets: OFFLINE_SECRETS });
}

/**
 * The dbt exposures YAML for the project's cohorts on dbt models, as `coho dbt
 * exposures` writes it; with `out`, written there (never over a hand-written
 * file unless `force`).
 */
export function dbtExposures(dir: string, options: { env?: Env; out?: string; force?: boolean } & ConfigInputs = {}): DbtExposuresResult {
  const project = loadOrThrow(dir, options.env, NO_SECRETS, options);
  return dbtExposuresOperation({ project, out: options.out === undefined ? undefined : resolvePath(options.out), force: options.force === true });
}

/** What a program passes from outside the configuration, as `--var` and `--allow-path` do. */
export interface ConfigInputs {
  /** Values of variables declared under `vars:`, by name, as text (`--var name=value`). */
  readonly vars?: Readonly<Record<string, string>>;
  /** Absolute paths outside the project (or hidden in it) the configuration may open (`--allow-path`). */
  readonly allowPaths?: readonly string[];
}

export interface PlanOptions extends ConfigInputs {
  /** Where `${env:…}` comes from in secret fields and connection settings (default: process.env). */
  readonly env?: Env;
  readonly targets?: readonly string[];
  readonly allowRemovals?: boolean;
  /** Also send again the additions of every recorded member (`coho plan --refresh`). */
  readonly refresh?: boolean;
  /** Read a sample back from Braze and plan drifted members again (`coho plan --refresh-from-braze`); needs the destinations' keys. */
  readonly refreshFromBraze?: { readonly sample: number };
  /** Sample member keys per cohort (PII); default 0. */
  readonly showMembers?: number;
  readonly pushDown?: boolean;
  /** Save the plan (absolute path, or relative to the process's cwd) for apply({ planFile }). */
  readonly out?: string;
  readonly onEvent?: EventSink;
  readonly tuning?: Pick<Tuning, "memoryLimit">;
}

/**
 * Plans the project in `dir` against its recorded state, as `coho plan --json`
 * does. Throws DiagnosticsError for an invalid configuration.
 */
export async function plan(dir: string, options: PlanOptions = {}): Promise<Plan> {
  // Plan never calls Braze (but to read back, below): it runs without destination credentials.
  // --refresh-from-braze reads Braze back: then the destinations' keys are needed.
  const project = loadOrThrow(dir, options.env, options.refreshFromBraze ? undefined : OFFLINE_SECRETS, options);
  const { out, tuning, onEvent, env: _env, vars: _vars, allowPaths: _allowPaths, ...rest } = options;
  const result = await planOperation({
    project,
    ...rest,
    ...(out ? { out: resolvePath(out) } : {}),
    ...(tuning?.memoryLimit ? { memoryLimit: tuning.memoryLimit } : {}),
    ...(onEvent ? { onEvent } : {}),
  });
  return result.plan;
}

export interface ApplyOptions extends ConfigInputs {
  readonly env?: Env;
  /** A plan saved by plan({ out }) or `coho plan --out`: applied exactly, no approval asked. */
  readonly planFile?: string;
  readonly targets?: readonly string[];
  readonly allowRemovals?: boolean;
  /** For a fresh plan: also send again the additions of every recorded member (`coho apply --refresh`). */
  readonly refresh?: boolean;
  /** For a fresh plan: read a sample back and re-send drifted members (`coho apply --refresh-from-braze`). */
  readonly refreshFromBraze?: { readonly sample: number };
  /** Decides on a fresh plan with changes. Required unless autoApprove or planFile. */
  readonly approve?: Approval;
  readonly autoApprove?: boolean;
  /** Abort to stop: requests in flight finish, state keeps what Braze acknowledged. */
  readonly signal?: AbortSignal;
  readonly lockTimeoutMs?: number;
  readonly tuning?: Tuning;
  readonly onEvent?: EventSink;
}

/**
 * Applies the project in `dir`: lock, finish an interrupted apply, plan (or load
 * `planFile`), approve, execute, record. Resolves to the outcome, the plan and the
 * report (as `coho apply --json` prints it); throws CohoError when it cannot run.
 */
export async function apply(dir: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  if (!options.planFile && !options.approve && options.autoApprove !== true) {
    throw new CohoError("apply.needs_approval", "apply() needs approve, autoApprove: true, or a planFile", {
      hint: "pass approve: (plan) => boolean to decide, or autoApprove: true in a pipeline",
    });
  }
  if (options.planFile && ((options.targets?.length ?? 0) > 0 || options.allowRemovals)) {
    throw new CohoError("apply.plan_file_options", "targets and allowRemovals belong to the plan: give them to plan({ out }), not to apply({ planFile })");
  }
  const env = options.env ?? process.env;
  const project = loadOrThrow(dir, env, undefined, options);
  const { planFile, autoApprove: _auto, approve, env: _env, vars: _vars, allowPaths: _allowPaths, ...rest } = options;
  return applyOperation({
    project,
    env,
    ...rest,
    ...(planFile ? { planFile: resolvePath(planFile) } : {}),
    ...(approve && !options.autoApprove ? { approve } : {}),
  });
}

function loadOrThrow(dir: string, env: Env = process.env, secrets?: SecretNeeds, inputs: ConfigInputs = {}): Project {
  const loaded = validateOperation({
    dir,
    env,
    ...(secrets ? { secrets } : {}),
    ...(inputs.vars ? { vars: inputs.vars } : {}),
    ...(inputs.allowPaths ? { allowPaths: inputs.allowPaths.map((p) => resolvePath(p)) } : {}),
  });
  if (!loaded.project) throw new DiagnosticsError(loaded.diagnostics);
  return loaded.project;
}

/** Relative paths are taken from the process's working directory, as Node's fs does. */
function resolvePath(path: string): string {
  return resolve(path);
}
