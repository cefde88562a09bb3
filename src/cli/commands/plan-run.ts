import { appendFileSync } from "node:fs";
import { repairOption } from "../flags.js";
import { OFFLINE_SECRETS } from "../../model/secret-needs.js";
import { hasChanges, type Plan } from "../../model/plan.js";
import { plan } from "../../operations/plan.js";
import { renderPlanHuman } from "../../render/plan-human.js";
import { renderPlanJson } from "../../render/plan-json.js";
import { renderPlanMarkdown } from "../../render/plan-markdown.js";
import { planHistoryCharts } from "../../render/history-mermaid.js";
import { displayPath } from "../../render/paths.js";
import { argumentPath, chosenEnvironment, type CommandContext } from "../context.js";
import { EXIT_CHANGES, EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { chooseFormat, withEventStream, withJsonFailure, type OutputFormat } from "../output-format.js";
import { errorEvent } from "../../render/events-ndjson.js";

export interface PlanFlags {
  out?: string;
  json?: boolean;
  markdown?: boolean;
  output?: OutputFormat;
  detailedExitcode?: boolean;
  target: string[];
  showMembers?: number;
  allowRemovals?: boolean;
  refresh?: boolean;
  refreshFromBraze?: boolean;
  sample?: number;
  /** `--markdown-limit`: this comment's share of GitHub's comment size. */
  markdownLimit?: number;
  /** commander's `--no-charts`: false when given. */
  charts?: boolean;
}

/** Applies read back for the comment's charts: a few more than one chart draws. */
const CHART_HISTORY = 50;

export async function runPlan(ctx: CommandContext, flags: PlanFlags): Promise<number> {
  const format = chooseFormat(flags);
  // A plan that fails before it exists prints the error as JSON under --json (diagnostics for a bad config).
  const planned = await withMarkdownFailure(ctx, format, () => withJsonFailure(ctx, format, (error) => {
    const { type: _event, ...described } = errorEvent(error, ctx.io.cwd);
    return { error: described };
  }, () => withEventStream(ctx, format, async (sink) => {
    // Charts go where Markdown is rendered: the comment and the job summary.
    const wantCharts = flags.charts !== false && (format === "markdown" || Boolean(ctx.io.env.GITHUB_STEP_SUMMARY));
    const memoryLimit = ctx.io.env.COHO_MEMORY_LIMIT;
    const result = await plan({
      // Plan never calls Braze: it runs without Braze keys (fork pull requests) and,
      // without the state URL, from the committed coho.lock.
      // --refresh-from-braze reads Braze back: then the destinations' keys are needed.
      project: flags.refreshFromBraze ? loadConfigOrThrow(ctx) : loadConfigOrThrow(ctx, OFFLINE_SECRETS),
      ...repairOption(flags),
      targets: flags.target,
      allowRemovals: flags.allowRemovals === true,
      ...(flags.refresh ? { refresh: true } : {}),
      showMembers: flags.showMembers ?? 0,
      ...(flags.out ? { out: argumentPath(ctx, flags.out) } : {}),
      ...(memoryLimit ? { memoryLimit } : {}),
      ...(sink ? { onEvent: sink } : {}),
      ...(wantCharts ? { history: { last: CHART_HISTORY } } : {}),
    });
    const charts = result.history && "series" in result.history ? planHistoryCharts(result.plan, result.history.series) : [];
    return { plan: result.plan, charts };
  })));
  const markdown = { charts: planned.charts, ...(flags.markdownLimit === undefined ? {} : { limit: flags.markdownLimit }) };
  const rendered = renderPlan(planned.plan, format, markdown);
  if (rendered !== undefined) ctx.output.out(rendered);
  const summary = ctx.io.env.GITHUB_STEP_SUMMARY;
  if (summary) appendFileSync(summary, `${renderPlanMarkdown(planned.plan, markdown)}\n`);
  if (flags.out && (format === "text" || format === "markdown")) {
    // The file as seen from the shell; the command as typed, with the same -C (paths after it are relative to it).
    const saved = displayPath(argumentPath(ctx, flags.out), ctx.io.cwd);
    const chdir = ctx.global.dir === "." ? "" : ` -C ${shellWord(ctx.global.dir)}`;
    ctx.output.err(planned.plan.applyable ? `Saved the plan to ${saved}; apply exactly it with: coho${chdir} apply ${shellWord(flags.out)}` : `Saved the plan to ${saved} for review; it cannot be applied (see above).`);
  }
  if (!planned.plan.applyable) return EXIT_ERROR;
  return flags.detailedExitcode && hasChanges(planned.plan) ? EXIT_CHANGES : EXIT_OK;
}

/**
 * With --markdown, stdout always carries a comment, even when no plan could be
 * made: the errors, under the plan comment's marker, so a workflow that posts it
 * replaces the previous plan instead of leaving it looking current. The job
 * summary gets it too. The error then goes on to stderr and exit code 1.
 */
async function withMarkdownFailure<T>(ctx: CommandContext, format: OutputFormat, work: () => Promise<T>): Promise<T> {
  if (format !== "markdown" && !ctx.io.env.GITHUB_STEP_SUMMARY) return work();
  try {
    return await work();
  } catch (error) {
    const { renderPlanFailureMarkdown } = await import("../../render/plan-markdown-failure.js");
    const comment = renderPlanFailureMarkdown(error, ctx.io.cwd, chosenEnvironment(ctx));
    if (format === "markdown") ctx.output.out(comment);
    const summary = ctx.io.env.GITHUB_STEP_SUMMARY;
    if (summary) appendFileSync(summary, `${ctx.output.redact(comment)}\n`);
    throw error;
  }
}

/** The plan as the chosen format prints it; with ndjson the stream already ended with it. */
function renderPlan(planned: Plan, format: OutputFormat, markdown: { readonly charts: readonly string[]; readonly limit?: number }): string | undefined {
  switch (format) {
    case "json":
      return renderPlanJson(planned);
    case "markdown":
      return renderPlanMarkdown(planned, markdown);
    case "ndjson":
      return undefined;
    case "text":
      return renderPlanHuman(planned);
  }
}

/** A path as one shell word: quoted only when it holds anything but plain path characters. */
function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}
