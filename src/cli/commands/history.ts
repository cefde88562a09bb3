import { basename, relative } from "node:path";
import type { Command } from "commander";
import { argumentPath, type CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { collectTargets, parseCount } from "../flags.js";
import { loadConfigOrThrow } from "../load-config.js";
import { STATE_ONLY_SECRETS } from "../../model/secret-needs.js";

export function registerHistory(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("history")
    .argument("[address]", "only applies that touched this cohort, e.g. cohorts.recent_buyers", (value: string) => collectTargets(value, [])[0])
    .description("past applies recorded in state: when, who, serials, per-cohort counts (no identifiers)")
    .option("--json", "print the records as JSON (format coho-history 1.0), oldest first")
    .option("--markdown", "print the records as a pull-request comment (newest first), with Mermaid charts of each cohort over them")
    .option("--html <file>", "write a self-contained HTML report with charts per cohort (members, added/removed, requests and duration per apply)")
    .option("--last <n>", "only the newest N applies", parseCount)
    .addHelpText("after", "\nState keeps the newest 1,000 applies (.coho/history.jsonl, or the history table of the postgres backend).")
    .action(async (address: string | undefined, flags: { json?: boolean; markdown?: boolean; html?: string; last?: number }) => {
      const ctx = context();
      const target = address;
      const project = loadConfigOrThrow(ctx, STATE_ONLY_SECRETS);
      const { history } = await import("../../operations/history.js");
      const { records, series } = await history({ project, ...(flags.last === undefined ? {} : { last: flags.last }), ...(target === undefined ? {} : { address: target }) });
      if (flags.html !== undefined) {
        const out = argumentPath(ctx, flags.html);
        const { renderHistoryHtml } = await import("../../render/history-html.js");
        const { writeOutputFile } = await import("../../operations/write-output.js");
        writeOutputFile(out, renderHistoryHtml(records, series, { generatedAt: new Date().toISOString(), project: basename(project.dir) }), "--html");
        ctx.output.err(`Wrote the history report (${records.length} apply record(s), ${series.length} cohort(s)) to ${relative(ctx.io.cwd, out) || out}.`);
      } else if (flags.json) ctx.output.out(JSON.stringify(records, null, 2));
      else {
        // Loaded here, like the operation: other commands' start-up does not run them.
        const { renderHistoryHuman, renderHistoryMarkdown } = await import("../../render/history.js");
        ctx.output.out(flags.markdown ? renderHistoryMarkdown(records, target, series) : renderHistoryHuman(records, target));
      }
      setExitCode(EXIT_OK);
    });
}
