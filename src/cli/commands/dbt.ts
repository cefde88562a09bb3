import { relative } from "node:path";
import type { Command } from "commander";
import { argumentPath, type CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";
import { NO_SECRETS } from "../../model/secret-needs.js";

export function registerDbt(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  const dbt = program.command("dbt").description("work with the dbt project whose manifest coho.yaml names");
  dbt
    .command("exposures")
    .description("write a dbt exposures YAML: one exposure per cohort on dbt models, for dbt docs and lineage")
    .option("--out <file>", "write to this file instead of stdout (relative to the project folder, -C)")
    .option("--force", "replace --out even when it was not written by coho")
    .addHelpText("after", "\nPut the file in the dbt project (e.g. models/coho_exposures.yml) so `dbt docs` shows the Braze cohorts each model feeds.")
    .action(async (flags: { out?: string; force?: boolean }) => {
      const ctx = context();
      // Loaded on demand, like every command's operation: --help needs none of it.
      const { dbtExposures } = await import("../../operations/dbt-exposures.js");
      const project = loadConfigOrThrow(ctx, NO_SECRETS);
      const out = flags.out === undefined ? undefined : argumentPath(ctx, flags.out);
      const result = dbtExposures({ project, out, force: flags.force === true });
      if (result.written) ctx.output.err(`Wrote ${result.count} exposure(s) to ${relative(ctx.io.cwd, result.written) || result.written}.\n`);
      else ctx.output.out(result.text);
      setExitCode(EXIT_OK);
    });
}
