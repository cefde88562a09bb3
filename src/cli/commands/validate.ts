import type { Command } from "commander";
import { OFFLINE_SECRETS } from "../../model/secret-needs.js";
import { validate } from "../../operations/validate.js";
import type { Secret } from "../../model/secret.js";
import {
  diagnosticsJson,
  githubAnnotations,
  renderDiagnosticsHuman,
  renderDiagnosticsSummary,
} from "../../render/diagnostics.js";
import { configInputs, projectDir, type CommandContext } from "../context.js";
import { EXIT_ERROR, EXIT_OK } from "../exit-codes.js";

export function registerValidate(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("validate")
    .description("check the configuration (YAML, schema, references, environment), offline")
    .option("--json", "print a machine-readable report")
    .addHelpText("after", "\nExit code 0 when valid (warnings allowed), 1 otherwise. Unset Braze credentials are warnings:\nvalidate never calls Braze (coho check does).\nUnder GitHub Actions, errors are also printed as ::error annotations.")
    .action((options: { json?: boolean }) => {
      setExitCode(runValidate(context(), options.json === true));
    });
}

function runValidate(ctx: CommandContext, json: boolean): number {
  // Offline: unset Braze keys are warnings (validate never calls Braze; apply and check need them).
  const result = validate({ dir: projectDir(ctx), env: ctx.io.env, ...configInputs(ctx), secrets: OFFLINE_SECRETS });
  registerSecrets(ctx, result.secrets);
  ctx.texts = result.texts;
  const { output, io } = ctx;
  if (json) {
    output.out(JSON.stringify(diagnosticsJson(result.diagnostics, io.cwd), null, 2));
  } else {
    if (result.diagnostics.length > 0) output.err(renderDiagnosticsHuman(result.diagnostics, { cwd: io.cwd, texts: result.texts }) + "\n");
    const summary = renderDiagnosticsSummary(result.diagnostics);
    if (result.project) output.out(summary);
    else output.err(summary);
  }
  // An unset Braze key is how a pull-request workflow withholds it on purpose: said in the
  // text above, never a warning annotation on every pull request (coho check catches a real gap).
  const annotated = result.diagnostics.filter((d) => d.code !== "config.secret_unset");
  if (io.env.GITHUB_ACTIONS === "true" && annotated.length > 0) {
    output.err(githubAnnotations(annotated, io.cwd));
  }
  return result.project ? EXIT_OK : EXIT_ERROR;
}

/** Every secret the project resolved is redacted from all further output, in every form (secretForms). */
export function registerSecrets(ctx: CommandContext, secrets: readonly Secret[]): void {
  for (const secret of secrets) ctx.output.registerSecret(secret.reveal());
}
