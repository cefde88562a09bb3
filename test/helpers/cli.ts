import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./fixtures.js";

export const COHO_BIN = join(REPO_ROOT, "bin", "coho.js");

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd?: string;
  /** Added to a minimal environment (PATH, HOME): the suite's own env never leaks in. */
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly timeoutMs?: number;
  /** The script to run instead of bin/coho.js (another front end taking the same arguments). */
  readonly script?: string;
}

/** Runs the built `coho` binary as a user would, in a child process. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script ?? COHO_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // The child may exit before reading its input (a fast failure): not an error of the test.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/**
 * stderr without apply's periodic progress lines ("Applying: …", every 5 s when
 * stderr is not a terminal): on a slow machine an apply outlasts 5 s, and a test
 * that expects nothing else on stderr must not fail for it.
 */
export function withoutProgress(stderr: string): string {
  return stderr.replace(/^Applying: .*\n?/gm, "");
}

/** A Node stack frame line, e.g. "    at loadProject (file.js:1:2)". */
export const STACK_FRAME = /^\s+at .+[:(]\d+/m;
// eslint-disable-next-line no-control-regex
export const ANSI = /\u001b\[/;
