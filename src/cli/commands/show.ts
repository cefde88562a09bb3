import { resolve } from "node:path";
import type { Command } from "commander";
import { renderPlanHuman } from "../../render/plan-human.js";
import { renderPlanJson } from "../../render/plan-json.js";
import { renderPlanMarkdown } from "../../render/plan-markdown.js";
import { renderStateList } from "../../render/state-view.js";
import type { CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";

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
      if (planFile) {
        const plan = await showPlanFile({ path: resolve(ctx.io.cwd, planFile) });
        ctx.output.out(flags.json ? renderPlanJson(plan) : flags.markdown ? renderPlanMarkdown(plan) : renderPlanHuman(plan));
      } else {
        const state = await showState({ project: loadConfigOrThrow(ctx) });
        ctx.output.out(flags.json ? JSON.stringify(state, null, 2) : renderStateList(state));
      }
      setExitCode(EXIT_OK);
    });
}
