import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { parseCount } from "../flags.js";
import type { VerifyFlags } from "./verify-run.js";

export function registerVerify(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("verify")
    .description("read a sample of recorded members back from Braze and report drift (never writes Braze or state)")
    .argument("[address...]", "cohort addresses to check (default: every applied cohort)")
    .option("--sample <n>", "members read back per cohort", parseCount, 200)
    .option("--json", "print the report as JSON (format coho-verify 1.0)")
    .option("--show-members <n>", "include up to N drifted member identifiers per cohort (PII!)", parseCount)
    .addHelpText("after", "\nExit code 0 when no drift is found, 2 when some is, 1 on error.\nOnly braze_attributes destinations can be read back; Cohort Import offers no read-back.")
    .action(async (addresses: string[], flags: VerifyFlags) => {
      setExitCode(await (await import("./verify-run.js")).runVerify(context(), addresses, flags));
    });
}

