import { resolve } from "node:path";
import kleur from "kleur";
import { FAULT_KINDS, type FaultKind } from "../../emulator/faults.js";
import { emulatorPortFromEnv } from "../../emulator/port-setting.js";
import { startEmulator } from "../../emulator/server.js";
import { readUsersFile } from "../../emulator/users-file.js";
import { CohoError, UsageError } from "../../model/errors.js";
import type { CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { parseDuration } from "../../model/duration.js";

export interface EmulatorFlags {
  /** Absent: COHO_EMULATOR_PORT, else 4010. */
  port?: string;
  host: string;
  state?: string;
  users?: string;
  rateLimit: string;
  rateWindow: string;
  faultRate: string;
  faultKinds?: string;
  seed: string;
  latency: string;
  responseTime: string;
  locked?: boolean;
  partner: string;
  partnerApiKey: string;
  dataImportKey: string;
  restApiKey: string;
  batchLimit: string;
  arrayCap: string;
  exportRateLimit: string;
}


export async function runEmulator(ctx: CommandContext, flags: EmulatorFlags): Promise<number> {
  const number = (name: string, text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}`);
    return value;
  };
  const duration = (name: string, text: string): number => {
    const result = parseDuration(text);
    if (!result.ok) throw new UsageError(`--${name}: ${result.message}`);
    return result.ms;
  };
  const kinds = flags.faultKinds?.split(",").map((k) => k.trim()) ?? [...FAULT_KINDS];
  const unknown = kinds.filter((k) => !FAULT_KINDS.includes(k as FaultKind));
  if (unknown.length > 0) throw new UsageError(`unknown fault kind ${unknown.join(", ")}; choose from ${FAULT_KINDS.join(", ")}`);
  const base = resolve(ctx.io.cwd, ctx.global.dir);
  const port = flags.port === undefined ? emulatorPortFromEnv(ctx.io.env) : number("port", flags.port, 0, 65535);
  let emulator;
  try {
    emulator = await startEmulator({
      host: flags.host,
      port,
      partner: flags.partner,
      partnerApiKey: flags.partnerApiKey,
      dataImportKey: flags.dataImportKey,
      restApiKey: flags.restApiKey,
      usersTrackBatchLimit: number("batch-limit", flags.batchLimit, 1, 75),
      arrayCap: number("array-cap", flags.arrayCap, 1),
      exportRateLimit: number("export-rate-limit", flags.exportRateLimit),
      ...(flags.users ? { users: readUsersFile(resolve(base, flags.users)) } : {}),
      ...(flags.state ? { statePath: resolve(base, flags.state) } : {}),
      rateLimit: number("rate-limit", flags.rateLimit),
      rateWindowMs: duration("rate-window", flags.rateWindow),
      faultRate: number("fault-rate", flags.faultRate, 0, 1),
      faultKinds: kinds as FaultKind[],
      seed: number("seed", flags.seed),
      latencyMs: duration("latency", flags.latency),
      responseTimeMs: duration("response-time", flags.responseTime),
      locked: flags.locked === true,
    });
  } catch (error) {
    if (error instanceof CohoError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new CohoError("emulator.port_in_use", `port ${port} is already in use`, { hint: "pick another with --port (or COHO_EMULATOR_PORT), or --port 0 for any free port" });
    throw error;
  }
  ctx.output.out(
    [
      `${kleur.green("Braze emulator (Cohort Import and /users/track)")} listening on ${kleur.bold(emulator.url)}`,
      "",
      "Point a destination at it:",
      `  rest_endpoint: ${emulator.url}`,
      `  partner: ${emulator.credentials.partner}`,
      `  partner_api_key: \${env:BRAZE_PARTNER_API_KEY}   # = ${emulator.credentials.partnerApiKey}`,
      `  data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}   # = ${emulator.credentials.dataImportKey}`,
      "",
      "or, on the public /users/track road (type: braze_attributes):",
      `  rest_endpoint: ${emulator.url}`,
      `  api_key: \${env:BRAZE_REST_API_KEY}   # = ${emulator.credentials.restApiKey}`,
      "",
      `Inspect: ${emulator.url}/_emulator/cohorts   Stop: Ctrl-C`,
    ].join("\n"),
  );
  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once("SIGINT", () => resolveSignal("SIGINT"));
    process.once("SIGTERM", () => resolveSignal("SIGTERM"));
  });
  await emulator.close();
  ctx.output.err(`Stopped (${signal})${flags.state ? `; state saved to ${flags.state}` : ""}.`);
  return EXIT_OK;
}
