import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { hasChanges } from "../../model/plan.js";
import { buildPlan } from "../../plan/build-plan.js";
import { writePlanFile } from "../../plan/plan-file.js";
import { openSession } from "../../plan/session.js";
import { renderPlanHuman } from "../../render/plan-human.js";
import { renderPlanJson } from "../../render/plan-json.js";
import { renderPlanMarkdown } from "../../render/plan-markdown.js";
import type { CommandContext } from "../context.js";
import { EXIT_CHANGES, EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { collectTargets, parseCount } from "../flags.js";
import { loadConfigOrThrow } from "../load-config.js";

interface PlanFlags {
  out?: string;
  json?: boolean;
  markdown?: boolean;
  detailedExitcode?: boolean;
  target: string[];
  showMembers?: number;
  allowRemovals?: boolean;
}

export function registerPlan(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("plan")
    .description("show what apply would change in Braze: cohorts and members")
    .option("--out <file>", "save the plan (with its exact member deltas) for `coho apply FILE`")
    .option("--json", "print the plan as JSON (format coho-plan 1.0)")
    .option("--markdown", "print the plan as a pull-request comment")
    .option("--detailed-exitcode", "exit 0 with no changes, 2 with changes, 1 on error or block")
    .option("--target <address>", "plan only this cohort (repeatable); the plan is partial", collectTargets, [])
    .option("--show-members <n>", "include up to N sample identifiers per cohort (PII!)", parseCount)
    .option("--allow-removals", "override the removal guards (allow_empty, max_removals)")
    .addHelpText("after", "\nExamples:\n  $ coho plan\n  $ coho plan --markdown --detailed-exitcode > plan.md\n  $ coho plan --out plan.coho && coho apply plan.coho")
    .action(async (flags: PlanFlags) => {
      setExitCode(await runPlan(context(), flags));
    });
}

async function runPlan(ctx: CommandContext, flags: PlanFlags): Promise<number> {
  const project = loadConfigOrThrow(ctx);
  const session = await openSession(project);
  try {
    const { plan, deltas } = await buildPlan({
      project,
      backend: session.backend,
      engine: session.engine,
      sources: session.sources,
      options: { targets: flags.target, allowRemovals: flags.allowRemovals === true, showMembers: flags.showMembers ?? 0 },
    });
    if (flags.out) await writePlanFile(resolve(ctx.io.cwd, flags.out), plan, session.engine, deltas);
    if (flags.json) ctx.output.out(renderPlanJson(plan));
    else if (flags.markdown) ctx.output.out(renderPlanMarkdown(plan));
    else ctx.output.out(renderPlanHuman(plan));
    const summary = ctx.io.env.GITHUB_STEP_SUMMARY;
    if (summary) appendFileSync(summary, `${renderPlanMarkdown(plan)}\n`);
    if (flags.out && !flags.json) ctx.output.err(`Saved the plan to ${flags.out}; apply exactly it with: coho apply ${flags.out}`);
    if (!plan.applyable) return EXIT_ERROR;
    return flags.detailedExitcode && hasChanges(plan) ? EXIT_CHANGES : EXIT_OK;
  } finally {
    await session.close();
  }
}
