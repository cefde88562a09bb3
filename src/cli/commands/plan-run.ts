import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import { hasChanges } from "../../model/plan.js";
import { plan } from "../../operations/plan.js";
import { renderPlanHuman } from "../../render/plan-human.js";
import { renderPlanJson } from "../../render/plan-json.js";
import { renderPlanMarkdown } from "../../render/plan-markdown.js";
import type { CommandContext } from "../context.js";
import { EXIT_CHANGES, EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";

export interface PlanFlags {
  out?: string;
  json?: boolean;
  markdown?: boolean;
  detailedExitcode?: boolean;
  target: string[];
  showMembers?: number;
  allowRemovals?: boolean;
}

export async function runPlan(ctx: CommandContext, flags: PlanFlags): Promise<number> {
  const project = loadConfigOrThrow(ctx);
  const memoryLimit = ctx.io.env.COHO_MEMORY_LIMIT;
  const result = await plan({
    project,
    targets: flags.target,
    allowRemovals: flags.allowRemovals === true,
    showMembers: flags.showMembers ?? 0,
    ...(flags.out ? { out: resolve(ctx.io.cwd, flags.out) } : {}),
    ...(memoryLimit ? { memoryLimit } : {}),
  });
  const planned = result.plan;
  if (flags.json) ctx.output.out(renderPlanJson(planned));
  else if (flags.markdown) ctx.output.out(renderPlanMarkdown(planned));
  else ctx.output.out(renderPlanHuman(planned));
  const summary = ctx.io.env.GITHUB_STEP_SUMMARY;
  if (summary) appendFileSync(summary, `${renderPlanMarkdown(planned)}\n`);
  if (flags.out && !flags.json) ctx.output.err(`Saved the plan to ${flags.out}; apply exactly it with: coho apply ${flags.out}`);
  if (!planned.applyable) return EXIT_ERROR;
  return flags.detailedExitcode && hasChanges(planned) ? EXIT_CHANGES : EXIT_OK;
}
