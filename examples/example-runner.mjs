// What every runnable example shares: `--reset`, running the coho binary on the
// example's folder, and the local Braze emulator on the example's own fixed port
// (coho.lock records which endpoint each cohort lives at), with Braze's state in
// .coho/ so later runs continue where one ends. Nothing outside this machine is contacted.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
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

/** The emulator on `port`, its state in dir/.coho; a taken port ends the example with a clear word. */
export async function startExampleEmulator(dir, port, options = {}) {
  try {
    const emulator = await startEmulator({ port, statePath: join(dir, ".coho", "emulator-state.json"), ...options });
    console.log(`Local Braze emulator on ${emulator.url}`);
    return emulator;
  } catch (error) {
    if (error.code === "EADDRINUSE") {
      console.error(`Port ${port} is taken. Stop whatever listens there (another \`coho emulator\`, or another run of this example?) and run again.`);
      process.exit(1);
    }
    throw error;
  }
}
