import { CohoError } from "../../model/errors.js";
import { verify } from "../../operations/verify.js";
import { renderVerifyReport } from "../../render/verify-report.js";
import type { CommandContext } from "../context.js";
import { EXIT_CHANGES, EXIT_OK } from "../exit-codes.js";
import { loadConfigOrThrow } from "../load-config.js";

export interface VerifyFlags {
  sample: number;
  json?: boolean;
  showMembers?: number;
}

/** Exit 0: no drift; 2: drift found; errors are thrown (exit 1). */
export async function runVerify(ctx: CommandContext, addresses: string[], flags: VerifyFlags): Promise<number> {
  const project = loadConfigOrThrow(ctx);
  if (flags.sample < 1) throw new CohoError("cli.usage", "--sample must be at least 1");
  const report = await verify({
    project,
    addresses,
    sample: flags.sample,
    ...(flags.showMembers ? { showMembers: flags.showMembers } : {}),
    ...(ctx.io.env.COHO_MEMORY_LIMIT ? { memoryLimit: ctx.io.env.COHO_MEMORY_LIMIT } : {}),
  });
  ctx.output.out(flags.json ? JSON.stringify(report, null, 2) : renderVerifyReport(report));
  return report.drift ? EXIT_CHANGES : EXIT_OK;
}
