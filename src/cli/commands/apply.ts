import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import type { ApplyFlags } from "./apply-run.js";
import { collectTargets, parseCount } from "../flags.js";
import { outputOption } from "../output-format.js";

export function registerApply(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("apply")
    .argument("[plan-file]", "a plan saved by coho plan --out; applied exactly, without asking")
    .description("make the planned changes in Braze and record the new state")
    .option("--auto-approve", "apply without asking (pipelines)")
    .option("--json", "print a machine-readable report instead of progress and text (= --output json)")
    .addOption(outputOption(["text", "json", "ndjson"]))
    .option("--target <address>", "apply only this cohort (repeatable)", collectTargets, [])
    .option("--allow-removals", "override the removal guards: allow_empty, max_removals and max_deleted_instances (never prevent_destroy or max_array_values)")
    .option("--refresh", "also send again the additions of every recorded member (idempotent), so users whose Braze profile was created since get the attribute")
    .option("--refresh-from-braze", "read a sample of each cohort's recorded members back from Braze (as coho verify does) and plan the drifted ones' additions again, so apply repairs them (needs the destinations' keys)")
    .option("--sample <n>", "with --refresh-from-braze: members read back per cohort (default 200)", parseCount)
    .addHelpText("after", "\nAn interrupted apply (Ctrl-C, a crash, a kill) is finished by the next one.")
    .action(async (planFile: string | undefined, flags: ApplyFlags) => {
      setExitCode(await (await import("./apply-run.js")).runApply(context(), planFile, flags));
    });
}
