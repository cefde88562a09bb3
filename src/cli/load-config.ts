import type { SecretNeeds } from "../model/secret-needs.js";
import { DiagnosticsError } from "../model/errors.js";
import type { Project } from "../model/project.js";
import { validate } from "../operations/validate.js";
import { renderDiagnosticsHuman } from "../render/diagnostics.js";
import { registerSecrets } from "./commands/validate.js";
import { configInputs, projectDir, type CommandContext } from "./context.js";

/**
 * Loads the project for a command that needs a valid one: secrets are registered
 * for redaction, warnings go to stderr, errors abort with every diagnostic.
 */
export function loadConfigOrThrow(ctx: CommandContext, secrets?: SecretNeeds): Project {
  const result = validate({ dir: projectDir(ctx), env: ctx.io.env, ...configInputs(ctx), ...(secrets ? { secrets } : {}) });
  registerSecrets(ctx, result.secrets);
  ctx.texts = result.texts;
  if (!result.project) throw new DiagnosticsError(result.diagnostics);
  const warnings = result.diagnostics.filter((d) => d.severity === "warning");
  if (warnings.length > 0) ctx.output.err(renderDiagnosticsHuman(warnings, { cwd: ctx.io.cwd, texts: result.texts }) + "\n");
  return result.project;
}
