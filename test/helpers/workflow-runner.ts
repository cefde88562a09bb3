import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { condition, substitute, type ExpressionContext } from "./workflow-expressions.js";

export interface WorkflowStep {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly with?: Record<string, string>;
  readonly run?: string;
  readonly shell?: string;
  readonly env?: Record<string, string>;
}

/** A composite action (action.yml): its inputs, outputs and `run:` steps. */
export interface CompositeAction {
  readonly inputs?: Record<string, { description?: string; required?: boolean; default?: string }>;
  readonly outputs?: Record<string, { description?: string; value: string }>;
  readonly runs: { readonly using: string; readonly steps: WorkflowStep[] };
}

export interface WorkflowJob {
  readonly if?: string;
  /** Jobs that must succeed first; the test runs jobs in that order itself. */
  readonly needs?: string | string[];
  readonly environment?: string;
  readonly env?: Record<string, string>;
  readonly concurrency?: { group: string; "cancel-in-progress": boolean };
  readonly permissions?: Record<string, string>;
  readonly steps: WorkflowStep[];
}

export interface Workflow {
  readonly on: Record<string, unknown>;
  readonly env: Record<string, string>;
  readonly jobs: Record<string, WorkflowJob>;
}

export function readWorkflow(path: string): Workflow {
  return parse(readFileSync(path, "utf8")) as Workflow;
}

export function readAction(dir: string): CompositeAction {
  return parse(readFileSync(join(dir, "action.yml"), "utf8")) as CompositeAction;
}

/** What a runner is given for one job: the event, the repository's secrets, the checkout. */
export interface JobRun {
  readonly workspace: string;
  readonly eventName: string;
  readonly event: Record<string, unknown>;
  readonly repository: string;
  readonly sha: string;
  /** The branch the run is for (GITHUB_REF_NAME); "main" unless given. */
  readonly refName?: string;
  readonly secrets: Record<string, string>;
  /**
   * Secrets of GitHub environments, by environment name: a job sees those of the
   * environment it names (`environment:`) on top of `secrets`, and no others.
   */
  readonly environmentSecrets?: Readonly<Record<string, Record<string, string>>>;
  readonly vars?: Record<string, string>;
  /** Values of the workflow's top-level env: as the repository owner edited them. */
  readonly workflowEnv?: Record<string, string>;
  /** Folders put first on PATH (the harness's gh and npm stand-ins). */
  readonly path: readonly string[];
  /** Extra environment every step sees (e.g. where the fake GitHub keeps its state). */
  readonly runnerEnv?: Record<string, string>;
  /**
   * Composite actions the runner would fetch, by the `uses:` value without its
   * `@ref` (e.g. "your-org/coho"): the local folder holding their action.yml.
   */
  readonly actions?: Readonly<Record<string, string>>;
}

export interface StepResult {
  readonly name: string;
  readonly status: "success" | "failure" | "skipped";
  readonly stdout: string;
  readonly stderr: string;
  /** The environment variables the step's shell was given ({} when skipped). */
  readonly env: Record<string, string>;
}

export interface JobResult {
  readonly ran: boolean;
  readonly success: boolean;
  readonly steps: StepResult[];
  /** $GITHUB_STEP_SUMMARY as the run left it. */
  readonly summary: string;
  readonly outputs: Record<string, Record<string, string>>;
}

/**
 * Runs one job's `run:` steps the way a GitHub-hosted runner does: expressions
 * substituted into the script, `bash --noprofile --norc -eo pipefail`, the job's
 * and workflow's env, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, `if:` with the
 * status functions. A `uses:` step naming one of `run.actions` runs that
 * composite action as the runner does: its inputs from `with:` and their
 * defaults, its `run:` steps in order (each reported by its own name, with
 * `inputs`, its own `steps` and `github.action_path` in expressions), and its
 * outputs as the step's outputs. Other `uses:` steps are the runner's own business
 * (checkout, setup-node): the workspace is already checked out and node is on PATH.
 */
export async function runJob(workflow: Workflow, jobName: string, run: JobRun): Promise<JobResult> {
  const job = workflow.jobs[jobName];
  if (!job) throw new Error(`no job ${jobName}`);
  const runnerTemp = mkdtempSync(join(tmpdir(), "coho-runner-"));
  const summaryFile = join(runnerTemp, "step-summary.md");
  writeFileSync(summaryFile, "");
  const github = {
    event_name: run.eventName,
    event: run.event,
    repository: run.repository,
    sha: run.sha,
    token: "ghs_harness_token",
    run_id: "4242",
    server_url: "https://github.com",
  };
  const outputs: Record<string, Record<string, string>> = {};
  const secrets = { ...run.secrets, ...(job.environment === undefined ? {} : run.environmentSecrets?.[job.environment]) };
  const base = { github, secrets, vars: run.vars ?? {}, steps: {} as Record<string, { outputs: Record<string, string> }> };
  const topEnv = { ...evaluateEnv(workflow.env, { values: { ...base, env: {} }, failed: false }), ...run.workflowEnv };
  const startContext: ExpressionContext = { values: { ...base, env: topEnv }, failed: false };
  if (!condition(job.if, startContext)) return { ran: false, success: true, steps: [], summary: "", outputs };
  const jobEnv = { ...topEnv, ...evaluateEnv(job.env ?? {}, startContext) };
  const steps: StepResult[] = [];
  let failed = false;
  /** Runs one `run:` step; returns whether it succeeded. */
  const runScript = async (index: string, name: string, step: WorkflowStep, context: ExpressionContext, stepEnv: Record<string, string>): Promise<{ ok: boolean; outputs: Record<string, string> }> => {
    const outputFile = join(runnerTemp, `output-${index}`);
    writeFileSync(outputFile, "");
    const scriptFile = join(runnerTemp, `step-${index}.sh`);
    writeFileSync(scriptFile, substitute(step.run ?? "", context));
    const env = {
      PATH: [...run.path, process.env.PATH ?? ""].join(":"),
      HOME: process.env.HOME ?? "/tmp",
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_EVENT_NAME: run.eventName,
      GITHUB_REPOSITORY: run.repository,
      GITHUB_SHA: run.sha,
      GITHUB_REF_NAME: run.refName ?? "main",
      GITHUB_RUN_ID: github.run_id,
      GITHUB_SERVER_URL: github.server_url,
      GITHUB_WORKSPACE: run.workspace,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      RUNNER_TEMP: runnerTemp,
      ...run.runnerEnv,
      ...stepEnv,
    };
    const result = await bash(scriptFile, run.workspace, env);
    steps.push({ name, status: result.code === 0 ? "success" : "failure", stdout: result.stdout, stderr: result.stderr, env });
    return { ok: result.code === 0, outputs: readOutputs(outputFile) };
  };
  for (const [index, step] of job.steps.entries()) {
    const name = step.name ?? step.uses ?? `step ${index + 1}`;
    const context: ExpressionContext = { values: { ...base, env: jobEnv }, failed };
    const actionDir = step.uses ? run.actions?.[step.uses.split("@")[0]!] : undefined;
    if ((step.uses && !actionDir) || !condition(step.if, context)) {
      steps.push({ name, status: "skipped", stdout: "", stderr: "", env: {} });
      continue;
    }
    let ok: boolean;
    let stepOutputs: Record<string, string>;
    if (actionDir) {
      ({ ok, outputs: stepOutputs } = await runAction(actionDir, index, step, context));
    } else {
      ({ ok, outputs: stepOutputs } = await runScript(String(index), name, step, context, { ...jobEnv, ...evaluateEnv(step.env ?? {}, context) }));
    }
    if (!ok) failed = true;
    if (step.id) {
      outputs[step.id] = stepOutputs;
      base.steps[step.id] = { outputs: stepOutputs };
    }
  }
  return { ran: true, success: !failed, steps, summary: readFileSync(summaryFile, "utf8"), outputs };

  /** A composite action's steps, as the runner runs them for one `uses:` step. */
  async function runAction(dir: string, index: number, step: WorkflowStep, outer: ExpressionContext): Promise<{ ok: boolean; outputs: Record<string, string> }> {
    const action = readAction(dir);
    if (action.runs.using !== "composite") throw new Error(`the harness runs composite actions only, not ${action.runs.using}`);
    const actionGithub = { ...github, action_path: dir };
    const inputs: Record<string, string> = {};
    for (const [key, spec] of Object.entries(action.inputs ?? {})) {
      const given = step.with?.[key];
      inputs[key] = given !== undefined ? substitute(String(given), outer) : substitute(spec.default ?? "", { values: { ...base, github: actionGithub, env: jobEnv }, failed: false });
    }
    for (const key of Object.keys(step.with ?? {})) if (!(key in inputs)) throw new Error(`the action in ${dir} has no input ${key}`);
    const innerSteps: Record<string, { outputs: Record<string, string> }> = {};
    let innerFailed = false;
    const innerContext = (): ExpressionContext => ({ values: { github: actionGithub, inputs, steps: innerSteps, env: jobEnv, vars: base.vars }, failed: outer.failed || innerFailed });
    for (const [inner, innerStep] of action.runs.steps.entries()) {
      const innerName = innerStep.name ?? `step ${inner + 1}`;
      if (innerStep.uses) throw new Error(`the harness runs run: steps of composite actions only (${innerName})`);
      if (innerStep.shell !== "bash") throw new Error(`composite step ${innerName} must say shell: bash`);
      const context = innerContext();
      if (!condition(innerStep.if, context)) {
        steps.push({ name: innerName, status: "skipped", stdout: "", stderr: "", env: {} });
        continue;
      }
      const result = await runScript(`${index}-${inner}`, innerName, innerStep, context, { ...jobEnv, ...evaluateEnv(innerStep.env ?? {}, context) });
      if (!result.ok) innerFailed = true;
      if (innerStep.id) innerSteps[innerStep.id] = { outputs: result.outputs };
    }
    const context = innerContext();
    const actionOutputs = Object.fromEntries(Object.entries(action.outputs ?? {}).map(([key, output]) => [key, substitute(output.value, context)]));
    return { ok: !innerFailed, outputs: actionOutputs };
  }
}

function evaluateEnv(env: Record<string, string>, context: ExpressionContext): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, substitute(String(value), context)]));
}

/** `name=value` lines (the runner's simple form; the workflow writes nothing multi-line). */
function readOutputs(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  return Object.fromEntries(readFileSync(file, "utf8").split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  mkdirSync(cwd, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
