import { appendFileSync } from "node:fs";
import { OFFLINE_SECRETS } from "../../config/interpolate-document.js";
import { resolve } from "node:path";
import { CohoError } from "../../model/errors.js";
import { hasChanges } from "../../model/plan.js";
import { buildPlan } from "../../plan/build-plan.js";
import { writePlanFile } from "../../plan/plan-file.js";
import { openSession } from "../../plan/session.js";
import { renderPlanHuman } from "../../render/plan-human.js";
import { renderPlanJson } from "../../render/plan-json.js";
import { renderPlanMarkdown } from "../../render/plan-markdown.js";
import type { CommandContext } from "../context.js";
import { EXIT_CHANGES, EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { summarizeJournal } from "../../apply/journal-summary.js";
import type { StateBackend } from "../../state/backend.js";

/** What an interrupted apply left in the journal, if anything. */
async function pendingApply(backend: StateBackend): Promise<{ cohorts: number; batches: number } | null> {
  const journal = backend.journal();
  const records = await journal.read();
  journal.close();
  if (records.length === 0) return null;
  const work = summarizeJournal(records);
  return { cohorts: work.size, batches: [...work.values()].reduce((n, w) => n + w.unknown.length + (w.upsert && !w.upsertAcked ? 1 : 0), 0) };
}

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
  // Plan never calls Braze: it runs without destination credentials (fork pull requests).
  const project = loadConfigOrThrow(ctx, OFFLINE_SECRETS);
  const session = await openSession(project, ctx.io.env.COHO_MEMORY_LIMIT ? { memoryLimit: ctx.io.env.COHO_MEMORY_LIMIT } : {});
  try {
    const { plan, deltas } = await buildPlan({
      project,
      backend: session.backend,
      engine: session.engine,
      sources: session.sources,
      options: { targets: flags.target, allowRemovals: flags.allowRemovals === true, showMembers: flags.showMembers ?? 0 },
      pendingApply: await pendingApply(session.backend),
    });
    if (flags.out && session.backend.membersUnavailable) {
      throw new CohoError("plan.not_saveable", `cannot save a plan made without member snapshots: ${session.backend.membersUnavailable}`, { hint: "set the state URL's variable to plan against the state database, or drop --out" });
    }
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
