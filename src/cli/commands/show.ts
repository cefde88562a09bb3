import type { Command } from "commander";
import { argumentPath, type CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { STATE_ONLY_SECRETS } from "../../model/secret-needs.js";

export function registerShow(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("show")
    .argument("[plan-file]", "a plan saved by coho plan --out")
    .description("render a saved plan, or summarize the current state")
    .option("--json", "as JSON")
    .option("--markdown", "as a pull-request comment (plans only)")
    .action(async (planFile: string | undefined, flags: { json?: boolean; markdown?: boolean }) => {
      const ctx = context();
      // Loaded on demand: the operations pull in DuckDB and pg, which --help does not need.
      const { showPlanFile, showState } = await import("../../operations/show.js");
      // Renderers too: every other command's start-up would run their modules for nothing.
      if (planFile) {
        const plan = await showPlanFile({ path: argumentPath(ctx, planFile) });
        ctx.output.out(
          flags.json
            ? (await import("../../render/plan-json.js")).renderPlanJson(plan)
            : flags.markdown
              ? (await import("../../render/plan-markdown.js")).renderPlanMarkdown(plan)
              : (await import("../../render/plan-human.js")).renderPlanHuman(plan),
        );
      } else {
        const state = await showState({ project: loadConfigOrThrow(ctx, STATE_ONLY_SECRETS) });
        ctx.output.out(flags.json ? JSON.stringify(state, null, 2) : (await import("../../render/state-view.js")).renderStateList(state));
      }
      setExitCode(EXIT_OK);
    });
}
