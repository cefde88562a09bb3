import { CohoError } from "../model/errors.js";
import type { Project } from "../model/project.js";
import type { StateView } from "../model/state.js";
import { configDigest } from "../plan/config-digest.js";
import { readPlanDeltas, readPlanHeader, verifyPlanFile } from "../plan/plan-file.js";
import { SavedPlanChecker } from "./saved-plan-checks.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import type { ExecutablePlan } from "./execute-plan.js";

/**
 * A saved plan, checked against the present: refused (each case with its own
 * message) when it was made for another state, the state moved on, the config
 * changed, or it was blocked, or its digest, keys or counts do not hold. Its
 * exact deltas are loaded into engine tables; nothing is journaled here.
 */
export async function loadSavedPlan(path: string, state: StateView, project: Project, engine: DuckDbEngine): Promise<ExecutablePlan> {
  const plan = await readPlanHeader(path);
  // Before any other check reads the header: it must be the one coho wrote.
  await verifyPlanFile(path);
  const remake = "make a new plan with coho plan --out FILE and review it";
  const plannedFor = plan.environment ?? null;
  const applyingIn = project.environment?.name ?? null;
  if (plannedFor !== applyingIn) {
    throw new CohoError("apply.plan_environment", `the saved plan was made for ${plannedFor === null ? "a project without environments" : `environment ${plannedFor}`}, not for ${applyingIn === null ? "this project without environments" : `environment ${applyingIn}`}`, {
      hint: plannedFor === null ? "make a new plan with --env" : `apply it with --env ${plannedFor}, or make a new plan for ${applyingIn ?? "this project"}`,
    });
  }
  if (plan.state.lineage !== null && plan.state.lineage !== state.lineage) {
    throw new CohoError("apply.plan_lineage", `the saved plan was made for another state (lineage ${plan.state.lineage}; this state is ${state.lineage ?? "empty"})`, { hint: "apply it where it was planned, or make a new plan here" });
  }
  if (plan.state.serial !== state.serial || (plan.state.lineage === null && state.lineage !== null)) {
    throw new CohoError("apply.plan_stale", `the state changed since the plan was made (serial ${plan.state.serial} then, ${state.serial} now)`, { hint: remake });
  }
  if (plan.config_digest !== configDigest(project)) {
    throw new CohoError("apply.plan_config_changed", "the configuration changed since the plan was made", { hint: remake });
  }
  if (!plan.applyable) {
    throw new CohoError("apply.plan_blocked", "the saved plan is blocked (a guard or an error) and cannot be applied", { hint: "run coho show on it for the reason" });
  }
  const deltas = new Map<string, { addTable: string; removeTable: string }>();
  for (const cohort of plan.cohorts) {
    const addTable = `memory.main.${engine.tempTable("saved_add")}`;
    const removeTable = `memory.main.${engine.tempTable("saved_remove")}`;
    await engine.connection.run(`CREATE TABLE ${addTable} (key VARCHAR)`);
    await engine.connection.run(`CREATE TABLE ${removeTable} (key VARCHAR)`);
    deltas.set(cohort.address, { addTable, removeTable });
  }
  const appenders = new Map<string, Awaited<ReturnType<typeof engine.connection.createAppender>>>();
  const checker = new SavedPlanChecker(path, plan, project, state);
  try {
    for await (const chunk of readPlanDeltas(path)) {
      checker.check(chunk);
      const tables = deltas.get(chunk.address)!;
      const table = chunk.op === "add" ? tables.addTable : tables.removeTable;
      let appender = appenders.get(table);
      if (!appender) {
        appender = await engine.connection.createAppender(table.split(".").pop()!, "main", "memory");
        appenders.set(table, appender);
      }
      for (const key of chunk.keys) {
        appender.appendVarchar(key);
        appender.endRow();
      }
    }
  } finally {
    for (const appender of appenders.values()) appender.closeSync();
  }
  checker.finish();
  return { plan, state, deltas };
}
