import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SECRET_ENV, applyScript, projectEnvOf, type Driver } from "./apply-project.js";

/** Starts `coho apply --auto-approve` (binary or library front end) in the background; `done` resolves once it ends. */
export function spawnApply(driver: Driver, dir: string, env: Record<string, string> = {}, globalArgs: string[] = []) {
  const child = spawn(process.execPath, [applyScript(driver), "-C", dir, ...globalArgs, "apply", "--auto-approve"], {
    env: { PATH: process.env.PATH ?? "", ...SECRET_ENV, NO_COLOR: "1", ...projectEnvOf(dir), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const lockfile = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number; lineage: string; cohorts: Record<string, { members: { count: number } }> };
