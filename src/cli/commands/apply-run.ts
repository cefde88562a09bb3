import kleur from "kleur";
import { repairOption } from "../flags.js";
import { CohoError } from "../../model/errors.js";
import type { Plan } from "../../model/plan.js";
import { apply, type ApplyResult } from "../../operations/apply.js";
import type { OperationEvent } from "../../operations/events.js";
import { renderApplyReport } from "../../render/apply-report.js";
import { renderApplyEvent } from "../../render/apply-events.js";
import { ApplyProgress } from "../apply-progress.js";
import { argumentPath, type CommandContext } from "../context.js";
import { EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { chooseFormat, withEventStream, withJsonFailure, type OutputFormat } from "../output-format.js";
import { applyFailureReport } from "../../render/apply-failure.js";
import { ask } from "../prompt.js";
import { StopSignal } from "../signals.js";
import { tuningFromEnv } from "../tuning.js";

export interface ApplyFlags {
  autoApprove?: boolean;
  json?: boolean;
  output?: OutputFormat;
  target: string[];
  allowRemovals?: boolean;
  refresh?: boolean;
  refreshFromBraze?: boolean;
  sample?: number;
}

export async function runApply(ctx: CommandContext, planFile: string | undefined, flags: ApplyFlags): Promise<number> {
  const format = chooseFormat(flags);
  const started = new Date();
  return withJsonFailure(ctx, format, (error) => applyFailureReport(started, error), () => withEventStream(ctx, format, async (sink) => {
    const { io, output } = ctx;
    const project = loadConfigOrThrow(ctx);
    if (planFile && (flags.target.length > 0 || flags.allowRemovals || flags.refresh || flags.refreshFromBraze)) {
      throw new CohoError("cli.usage", "--target, --allow-removals, --refresh and --refresh-from-braze belong to the plan: give them to coho plan --out, not to apply PLAN_FILE");
    }
    const interactive = io.stdin.isTTY === true;
    if (!planFile && !flags.autoApprove && !interactive) {
      throw new CohoError("apply.needs_approval", "no terminal to ask for approval (stdin is not a TTY)", {
        hint: "add --auto-approve, or apply a reviewed plan: coho plan --out plan.coho && coho apply plan.coho",
      });
    }
    const text = format === "text";
    const stop = new StopSignal();
    // In CI (CI=true) never animate, even when a pseudo-terminal is attached.
    const progress = new ApplyProgress(output, io.stderr.isTTY === true && !io.env.CI, text);
    const onEvent = (event: OperationEvent) => {
      progress.onEvent(event);
      sink?.(event);
      const line = text ? renderApplyEvent(event) : undefined;
      if (line) output[line.stream](line.text);
    };
    stop.onStop = (signal) => {
      if (text) output.err(kleur.yellow(`\n${signal}: finishing requests in flight and saving state; no new requests start.`));
    };
    const approve = planFile || flags.autoApprove ? undefined : (_plan: Plan) => confirmApply(ctx);
    try {
      const result = await apply({
        project,
        ...(planFile ? { planFile: argumentPath(ctx, planFile) } : {}),
        targets: flags.target,
        allowRemovals: flags.allowRemovals === true,
        ...(flags.refresh ? { refresh: true } : {}),
        ...repairOption(flags),
        ...(approve ? { approve } : {}),
        signal: stop.signal,
        lockTimeoutMs: ctx.global.lockTimeoutMs,
        env: io.env,
        tuning: tuningFromEnv(io.env),
        onEvent,
      });
      progress.stop();
      printResult(ctx, result, format);
      return exitCode(result, stop);
    } finally {
      progress.stop();
      stop.dispose();
    }
  }));
}

async function confirmApply(ctx: CommandContext): Promise<boolean> {
  const answer = await ask(ctx.io, `\nDo you want to apply these changes to Braze? Only 'yes' is accepted: `);
  if (answer === "yes") return true;
  ctx.output.err("Apply cancelled; nothing was sent.");
  return false;
}

function printResult(ctx: CommandContext, result: ApplyResult, format: OutputFormat): void {
  if (!result.report || format === "ndjson") return;
  if (format === "json") ctx.output.out(JSON.stringify(result.report, null, 2));
  else if (result.outcome !== "no_changes") ctx.output.out(`\n${renderApplyReport(result.report)}`);
}

function exitCode(result: ApplyResult, stop: StopSignal): number {
  switch (result.outcome) {
    case "applied":
    case "no_changes":
      return EXIT_OK;
    case "interrupted":
      return stop.exitCode ?? EXIT_ERROR;
    case "blocked":
    case "cancelled":
    case "failed":
      return EXIT_ERROR;
  }
}
