import type { Command } from "commander";
import { OFFLINE_SECRETS } from "../../model/secret-needs.js";
import type { CommandContext } from "../context.js";
import { EXIT_ERROR, EXIT_OK } from "../exit-codes.js";
import { parseDurationFlag } from "../flags.js";
import { loadConfigOrThrow } from "../load-config.js";

export function registerCheck(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("check")
    .description("prove every destination's credentials and every source's connection, changing nothing in Braze")
    .option("--json", "print the results as JSON")
    .option("--timeout <duration>", "per-request timeout for Braze, e.g. 10s", parseDurationFlag)
    .addHelpText("after", "\nEach destination gets one request with an empty cohort_changes (no user changes), each source runs SELECT 1,\nand the state is read. Exit code 0 when all pass, 1 otherwise.")
    .action(async (flags: { json?: boolean; timeout?: number }) => {
      const ctx = context();
      // Unset credentials become failing rows (naming the variable), not a load error.
      const project = loadConfigOrThrow(ctx, { ...OFFLINE_SECRETS, stateUrl: "required" });
      const { check } = await import("../../operations/check.js");
      const { renderCheckHuman } = await import("../../render/check.js");
      const report = await check({ project, ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }) });
      if (flags.json) ctx.output.out(JSON.stringify(report, null, 2));
      else ctx.output.out(renderCheckHuman(report));
      setExitCode(report.ok ? EXIT_OK : EXIT_ERROR);
    });
}
