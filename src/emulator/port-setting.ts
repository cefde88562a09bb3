import { CohoError } from "../model/errors.js";
import { EMULATOR_DEFAULTS } from "./options.js";

/**
 * The one setting for the local emulator's port. `coho emulator`, the examples,
 * `npm run quickstart` and the projects `coho init` writes
 * (`rest_endpoint: http://127.0.0.1:${env:COHO_EMULATOR_PORT:-4010}`) all read
 * it, so a second emulator (another checkout's tests, another example) moves
 * every piece to another port with one variable.
 */
export const EMULATOR_PORT_VARIABLE = "COHO_EMULATOR_PORT";

/** The port from the environment (default 4010); 0 means any free port. */
export function emulatorPortFromEnv(env: NodeJS.ProcessEnv): number {
  const text = env[EMULATOR_PORT_VARIABLE];
  if (text === undefined || text.trim() === "") return EMULATOR_DEFAULTS.port;
  const port = Number(text);
  if (!/^\d+$/.test(text.trim()) || port > 65535) {
    throw new CohoError("emulator.port_setting", `${EMULATOR_PORT_VARIABLE} must be a port number from 0 to 65535, not ${JSON.stringify(text.slice(0, 20))}`, {
      hint: `unset it for the default ${EMULATOR_DEFAULTS.port}, or set a free port such as 4020`,
    });
  }
  return port;
}

/** The loopback endpoint a project reaches the emulator at, as written in a coho.yaml. */
export const EMULATOR_ENDPOINT_TEMPLATE = `http://127.0.0.1:\${env:${EMULATOR_PORT_VARIABLE}:-${EMULATOR_DEFAULTS.port}}`;
