import { Command, Option } from "commander";
import { COHO_VERSION } from "../version.js";
import type { CommandContext, GlobalOptions } from "./context.js";
import { collectAllowPath, collectVar, parseDurationFlag } from "./flags.js";
import { registerApply } from "./commands/apply.js";
import { registerCheck } from "./commands/check.js";
import { registerDbt } from "./commands/dbt.js";
import { registerEmulator } from "./commands/emulator.js";
import { registerHistory } from "./commands/history.js";
import { registerMeta } from "./commands/meta.js";
import { attachHelp } from "./help-examples.js";
import { registerInit } from "./commands/init.js";
import { registerPlan } from "./commands/plan.js";
import { registerShow } from "./commands/show.js";
import { registerState } from "./commands/state.js";
import { registerValidate } from "./commands/validate.js";
import { registerVerify } from "./commands/verify.js";

export interface ProgramHooks {
  /** Called before any command runs, with the parsed global options. */
  readonly makeContext: (global: GlobalOptions) => CommandContext;
  /** Each command reports its exit code here. */
  readonly setExitCode: (code: number) => void;
}

const EXAMPLES = `
Examples:
  $ coho init my-cohorts              scaffold a project that validates at once
  $ coho validate                     check coho.yaml and its includes, offline
  $ coho -C examples/quickstart validate --json
  $ coho emulator --port 4010         a local Braze Cohort Import API

  $ coho completion bash > /etc/bash_completion.d/coho

Docs: docs/getting-started.md#commands (every command and exit code), docs/configuration.md;
configuration schema: schema/coho.schema.json`;

export function buildProgram(hooks: ProgramHooks): Command {
  const program = new Command("coho")
    .description("Keep Braze cohorts in step with your data warehouse, declared as code.")
    .version(COHO_VERSION, "-V, --version", "print coho's version")
    .option("-C, --dir <dir>", "project folder holding coho.yaml; like terraform -chdir, relative paths given to a command (plan --out, apply PLANFILE, --html, --allow-path, COHO_ALLOW_PATHS…) are then relative to it", ".")
    .option("--no-color", "never colour output (NO_COLOR and FORCE_COLOR are honoured too)")
    .addOption(new Option("--lock-timeout <duration>", "how long to wait for the state lock, e.g. 30s").default("0").argParser(parseDurationFlag))
    .addOption(new Option("--var <name=value>", "set a variable declared under vars: in coho.yaml, used as ${var:name} (repeatable)").argParser(collectVar).default({}, ""))
    .addOption(new Option("--env <name>", "the environment of coho.yaml's environments: to work on (its own Braze workspace and state); also COHO_ENV"))
    .addOption(new Option("--allow-path <path>", "let the configuration open this path outside the project (or hidden in it), e.g. in sources.<name>.allowed_paths; also COHO_ALLOW_PATHS (repeatable)").argParser(collectAllowPath).default([], ""))
    .showHelpAfterError("(run coho --help for usage)")
    .showSuggestionAfterError(true)
    .addHelpText("after", EXAMPLES)
    .exitOverride();

  const context = (): CommandContext => {
    const options = program.opts<{ dir: string; color: boolean; lockTimeout: string | number; var: Record<string, string>; allowPath: string[]; env?: string }>();
    const lockTimeoutMs = typeof options.lockTimeout === "number" ? options.lockTimeout : parseDurationFlag(options.lockTimeout);
    return hooks.makeContext({ dir: options.dir, color: options.color, lockTimeoutMs, vars: options.var, allowPaths: options.allowPath, ...(options.env === undefined ? {} : { env: options.env }) });
  };

  registerValidate(program, context, hooks.setExitCode);
  registerInit(program, context, hooks.setExitCode);
  registerPlan(program, context, hooks.setExitCode);
  registerApply(program, context, hooks.setExitCode);
  registerShow(program, context, hooks.setExitCode);
  registerState(program, context, hooks.setExitCode);
  registerVerify(program, context, hooks.setExitCode);
  registerHistory(program, context, hooks.setExitCode);
  registerCheck(program, context, hooks.setExitCode);
  registerEmulator(program, context, hooks.setExitCode);
  registerDbt(program, context, hooks.setExitCode);
  registerMeta(program, context, hooks.setExitCode);
  attachHelp(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}
