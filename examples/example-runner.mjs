// What every runnable example shares: `--reset`, running the coho binary on the
// example's folder, and the local Braze emulator on the port COHO_EMULATOR_PORT
// names (default 4010; every example's coho.yaml reads the same variable), with
// Braze's state in .coho/ so later runs continue where one ends. coho.lock
// records which endpoint each cohort lives at: keep one port between runs of an
// example, or start over with --reset. Nothing outside this machine is contacted.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { emulatorPortFromEnv } from "../dist/emulator/port-setting.js";
import { startEmulator } from "../dist/emulator/server.js";

const COHO = new URL("../bin/coho.js", import.meta.url).pathname;

/** `--reset` forgets coho's state and the emulator's together, so they stay consistent. */
export function resetIfAsked(dir) {
  if (!process.argv.includes("--reset")) return;
  rmSync(join(dir, "coho.lock"), { force: true });
  rmSync(join(dir, ".coho"), { recursive: true, force: true });
  console.log("Reset: coho.lock and .coho/ removed.");
}

/** Runs `coho -C dir ARGS…` with the terminal attached; resolves to its exit code. */
export function cohoIn(dir) {
  return (args) => {
    console.log(`\n$ coho ${args.join(" ")}`);
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [COHO, "-C", dir, ...args], { stdio: "inherit" });
      child.on("close", (code) => resolve(code ?? 1));
    });
  };
}

/**
 * The emulator on COHO_EMULATOR_PORT (default 4010; 0 picks a free one), its state
 * in dir/.coho. The port it got is put back into the environment, so the coho
 * processes started afterwards reach it. A taken port or a bad setting ends the
 * example with a clear word.
 */
export async function startExampleEmulator(dir, options = {}) {
  let port;
  try {
    port = emulatorPortFromEnv(process.env);
    const emulator = await startEmulator({ port, statePath: join(dir, ".coho", "emulator-state.json"), ...options });
    process.env.COHO_EMULATOR_PORT = String(emulator.port);
    console.log(`Local Braze emulator on ${emulator.url}`);
    return emulator;
  } catch (error) {
    if (error.code === "EADDRINUSE") {
      console.error(`Port ${port} is taken. Stop whatever listens there (another \`coho emulator\`, or another example?), or set COHO_EMULATOR_PORT to a free port, and run again.`);
      process.exit(1);
    }
    if (error.code === "emulator.port_setting") {
      console.error(`${error.message}; ${error.hint}`);
      process.exit(1);
    }
    throw error;
  }
}
