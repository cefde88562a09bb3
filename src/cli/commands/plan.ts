import type { Command } from "commander";
import { PLAN_FORMAT_VERSION } from "../../model/plan.js";
import type { CommandContext } from "../context.js";
import type { PlanFlags } from "./plan-run.js";
import { InvalidArgumentError } from "commander";
import { collectTargets, parseCount } from "../flags.js";
import { MARKDOWN_LIMIT } from "../../render/markdown-limit.js";
import { outputOption } from "../output-format.js";
import { count } from "../../render/markdown-blocks.js";

export function registerPlan(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("plan")
    .description("show what apply would change in Braze: cohorts and members")
    .option("--out <file>", "save the plan (with its exact member deltas) for `coho apply FILE`")
    .option("--json", `print the plan as JSON (format coho-plan ${PLAN_FORMAT_VERSION})`)
    .option("--markdown", "print the plan as a pull-request comment (= --output markdown)")
    .addOption(outputOption(["text", "json", "markdown", "ndjson"]))
    .option("--detailed-exitcode", "exit 0 with no changes, 2 with changes, 1 on error or block")
    .option("--target <address>", "plan only this cohort (repeatable); the plan is partial", collectTargets, [])
    .option("--show-members <n>", "include up to N sample identifiers per cohort (PII!)", parseCount)
    .option("--allow-removals", "override the removal guards: allow_empty, max_removals and max_deleted_instances (never prevent_destroy or max_array_values)")
    .option("--refresh", "also send again the additions of every recorded member (idempotent), so users whose Braze profile was created since get the attribute")
    .option("--refresh-from-braze", "read a sample of each cohort's recorded members back from Braze (as coho verify does) and plan the drifted ones' additions again, so apply repairs them (needs the destinations' keys)")
    .option("--sample <n>", "with --refresh-from-braze: members read back per cohort (default 200)", parseCount)
    .option("--markdown-limit <characters>", `the most characters the markdown comment may have (default ${count(MARKDOWN_LIMIT)}); whole rows and details are left out and counted to stay under it. A comment holding several environments' plans gives each its share`, parseMarkdownLimit)
    .option("--no-charts", "leave out the Mermaid charts of each changed cohort's size over its recorded applies (markdown and the job summary)")
    .addHelpText("after", `\nJSON and saved plans (--out) are plan format ${PLAN_FORMAT_VERSION}: schema/coho-plan.schema.json in the package.`)
    .action(async (flags: PlanFlags) => {
      setExitCode(await (await import("./plan-run.js")).runPlan(context(), flags));
    });
}

/** Below this, not even the headline, the warnings and the footer fit. */
const MIN_MARKDOWN_LIMIT = 2_000;

function parseMarkdownLimit(text: string): number {
  const n = parseCount(text);
  if (n < MIN_MARKDOWN_LIMIT || n > MARKDOWN_LIMIT) throw new InvalidArgumentError(`expected a whole number from ${count(MIN_MARKDOWN_LIMIT)} to ${count(MARKDOWN_LIMIT)}`);
  return n;
}
