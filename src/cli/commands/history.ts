import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { collectTargets, parseCount } from "../flags.js";
import { loadConfigOrThrow } from "../load-config.js";

export function registerHistory(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("history")
    .argument("[address]", "only applies that touched this cohort, e.g. cohorts.recent_buyers", (value: string) => collectTargets(value, [])[0])
    .description("past applies recorded in state: when, who, serials, per-cohort counts (no identifiers)")
    .option("--json", "print the records as JSON (format coho-history 1.0), oldest first")
    .option("--markdown", "print the records as a pull-request comment (newest first)")
    .option("--last <n>", "only the newest N applies", parseCount)
    .addHelpText("after", "\nState keeps the newest 1,000 applies (.coho/history.jsonl, or the history table of the postgres backend).")
    .action(async (address: string | undefined, flags: { json?: boolean; markdown?: boolean; last?: number }) => {
      const ctx = context();
      const target = address;
      const project = loadConfigOrThrow(ctx);
      const { history } = await import("../../operations/history.js");
      const { records } = await history({ project, ...(flags.last === undefined ? {} : { last: flags.last }), ...(target === undefined ? {} : { address: target }) });
      if (flags.json) ctx.output.out(JSON.stringify(records, null, 2));
      else {
        // Loaded here, like the operation: other commands' start-up does not run them.
        const { renderHistoryHuman, renderHistoryMarkdown } = await import("../../render/history.js");
        ctx.output.out(flags.markdown ? renderHistoryMarkdown(records, target) : renderHistoryHuman(records, target));
      }
      setExitCode(EXIT_OK);
    });
}
