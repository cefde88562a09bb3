import { Option, type Command } from "commander";
import { FAULT_KINDS } from "../../emulator/faults.js";
import { EMULATOR_DEFAULTS } from "../../emulator/options.js";
import type { CommandContext } from "../context.js";
import type { EmulatorFlags } from "./emulator-run.js";

export function registerEmulator(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("emulator")
    .description("run a local Braze (Cohort Import API and /users/track) for demos, tests and rehearsals")
    .option("--port <n>", "port to listen on (0 picks a free one; default: COHO_EMULATOR_PORT, else 4010)")
    .option("--host <host>", "address to bind; keep the loopback default unless you mean it", EMULATOR_DEFAULTS.host)
    .option("--state <file>", "keep cohorts and members in FILE between runs")
    .option("--users <file>", "the workspace's users (JSON); others are ignored, as Braze does")
    .option("--rate-limit <n>", "requests allowed per window; 0 = unlimited", "0")
    .option("--rate-window <duration>", "length of a rate-limit window, e.g. 1s or 1h (Braze: 1h)", "1s")
    .option("--fault-rate <r>", "share of requests that fail, 0 to 1", "0")
    .addOption(new Option("--fault-kinds <list>", `comma-separated subset of: ${FAULT_KINDS.join(", ")}`))
    .option("--seed <n>", "seed for reproducible faults", "1")
    .option("--latency <duration>", "how long a 'slow' fault holds its answer, e.g. 3s", "3s")
    .option("--response-time <duration>", "how long every Braze request takes to answer, e.g. 250ms (a distant Braze)", "0s")
    .option("--locked", "answer every request 423 Resource locked")
    .option("--partner <name>", "partner path segment to accept", EMULATOR_DEFAULTS.partner)
    .option("--partner-api-key <key>", "partner API key to accept", EMULATOR_DEFAULTS.partnerApiKey)
    .option("--data-import-key <key>", "data import key (client_secret) to accept", EMULATOR_DEFAULTS.dataImportKey)
    .option("--rest-api-key <key>", "REST API key /users/track and /users/export/ids accept", EMULATOR_DEFAULTS.restApiKey)
    .option("--batch-limit <n>", "attributes objects per /users/track request: 75, or 50 as on MAU contracts", "75")
    .option("--array-cap <n>", "values an array attribute holds before the oldest is dropped", "500")
    .option("--export-rate-limit <n>", "/users/export/ids requests per minute; 0 = unlimited (Braze: 250)", "0")
    .addHelpText("after", "\nInspect it at /_emulator/cohorts, /_emulator/cohorts/{id}/members, /_emulator/users and /_emulator/requests.\nStop it with Ctrl-C.")
    .action(async (flags: EmulatorFlags) => {
      setExitCode(await (await import("./emulator-run.js")).runEmulator(context(), flags));
    });
}
