import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COHO_BIN, STACK_FRAME, runCli } from "../helpers/cli.js";
import { EXAMPLES } from "../helpers/fixtures.js";
import { freePort } from "../helpers/postgres-cluster.js";

/** Starts `coho emulator` with `env`, resolves to the URL it prints, and stops it. */
async function emulatorUrl(args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [COHO_BIN, "emulator", ...args], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env } });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    return await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.on("exit", () => reject(new Error(`emulator exited early: ${stderr}`)));
    });
  } finally {
    child.kill("SIGINT");
  }
}

describe("COHO_EMULATOR_PORT, the one setting for the emulator's port", () => {
  it("coho emulator listens on the port it names; --port still wins", async () => {
    const port = await freePort();
    expect(await emulatorUrl([], { COHO_EMULATOR_PORT: String(port) })).toBe(`http://127.0.0.1:${port}`);
    const other = await freePort();
    expect(await emulatorUrl(["--port", String(other)], { COHO_EMULATOR_PORT: String(port) })).toBe(`http://127.0.0.1:${other}`);
  });

  it("a value that is not a port is one clear error, exit 1", async () => {
    const result = await runCli(["emulator"], { env: { COHO_EMULATOR_PORT: "40x0" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("COHO_EMULATOR_PORT must be a port number from 0 to 65535");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("every example and the scaffold of coho init reach the emulator through it", async () => {
    for (const example of ["quickstart", "attributes", "dbt", "sets", "postgres"]) {
      expect(readFileSync(join(EXAMPLES, example, "coho.yaml"), "utf8"), example).toContain("rest_endpoint: http://127.0.0.1:${env:COHO_EMULATOR_PORT:-4010}");
    }
    const dir = join(mkdtempSync(join(tmpdir(), "coho-port-init-")), "p");
    expect((await runCli(["init", dir])).code).toBe(0);
    expect(readFileSync(join(dir, "coho.yaml"), "utf8")).toContain("${env:COHO_EMULATOR_PORT:-4010}");
  });
});
