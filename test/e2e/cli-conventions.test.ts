import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { commandPath } from "../../src/cli/help-examples.js";
import { Output, decideColors, type CliIo } from "../../src/cli/io.js";
import { buildProgram } from "../../src/cli/program.js";
import { formatEta, progressLine } from "../../src/render/apply-progress.js";
import { ANSI, COHO_BIN, STACK_FRAME, runCli } from "../helpers/cli.js";
import { EXAMPLES, REPO_ROOT } from "../helpers/fixtures.js";
import { headingAnchors } from "../helpers/markdown.js";

function allCommands(program: Command): Command[] {
  return program.commands.flatMap((c) => [c, ...allCommands(c)]).filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
}

describe("help", () => {
  const program = buildProgram({ makeContext: () => { throw new Error("not run"); }, setExitCode: () => undefined });

  it.each(allCommands(program).map((c) => [commandPath(c), c] as const))("%s has examples and points to a docs page (and section) that exists", (_path, command) => {
    const text = helpText(command);
    expect(text).toContain("Examples:");
    const docs = /Docs: (docs\/[a-z0-9-]+\.md)(?:#([a-z0-9-]+))?/.exec(text);
    expect(docs, "a Docs: docs/page.md line").not.toBeNull();
    const page = join(REPO_ROOT, docs![1]!);
    expect(existsSync(page), `${docs![1]} exists`).toBe(true);
    if (docs![2]) expect(headingAnchors(readFileSync(page, "utf8")).has(docs![2]), `${docs![1]} has a section #${docs![2]}`).toBe(true);
  });

  it("the root help points to the docs and completion", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("docs/getting-started.md#commands");
    expect(headingAnchors(readFileSync(join(REPO_ROOT, "docs", "getting-started.md"), "utf8")).has("commands")).toBe(true);
    expect(result.stdout).toContain("coho completion bash");
  });
});

/** The full --help text of a command as the binary prints it (addHelpText included). */
function helpText(command: Command): string {
  const path = commandPath(command).split(" ");
  const result = spawnSync(process.execPath, [COHO_BIN, ...path, "--help"], { encoding: "utf8" });
  return result.stdout;
}

describe("pipes", () => {
  it.each([["--help"], ["completion", "zsh"], ["version", "--json"]])("coho %s into a closed pipe exits quietly", async (...args) => {
    // The reader is gone before coho writes: the write fails with EPIPE.
    const child = spawn(`${JSON.stringify(process.execPath)} ${JSON.stringify(COHO_BIN)} ${args.join(" ")} | head -c 1 >/dev/null`, { shell: "/bin/bash", stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(stderr).not.toMatch(STACK_FRAME);
  });

  it("a pipe closed by the reader mid-output: no stack trace", async () => {
    const child = spawn(process.execPath, [COHO_BIN, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).not.toMatch(STACK_FRAME);
    expect(code).toBe(0);
  });
});

describe("colour", () => {
  const io = (env: Record<string, string>, stdoutTty: boolean, stderrTty: boolean): CliIo => ({
    stdout: Object.assign(new PassThrough(), { isTTY: stdoutTty }),
    stderr: Object.assign(new PassThrough(), { isTTY: stderrTty }),
    stdin: new PassThrough(),
    env,
    cwd: REPO_ROOT,
  });

  it("is decided per stream", () => {
    expect(decideColors(io({}, true, false), false)).toEqual({ stdout: true, stderr: false });
    expect(decideColors(io({}, false, true), false)).toEqual({ stdout: false, stderr: true });
    expect(decideColors(io({ TERM: "dumb" }, true, true), false)).toEqual({ stdout: false, stderr: false });
    expect(decideColors(io({ NO_COLOR: "1" }, true, true), false)).toEqual({ stdout: false, stderr: false });
    expect(decideColors(io({ FORCE_COLOR: "1" }, false, false), false)).toEqual({ stdout: true, stderr: true });
    expect(decideColors(io({ FORCE_COLOR: "1" }, true, true), true)).toEqual({ stdout: false, stderr: false });
  });

  it("a plain stream gets the text without colour, the other keeps it", () => {
    const streams = io({}, true, false);
    const output = new Output(streams);
    output.setColors({ stdout: true, stderr: false });
    let out = "";
    let err = "";
    streams.stdout.on("data", (c: Buffer) => (out += c.toString()));
    streams.stderr.on("data", (c: Buffer) => (err += c.toString()));
    output.out("\u001b[32mok\u001b[39m");
    output.err("\u001b[31merror\u001b[39m: x");
    expect(out).toMatch(ANSI);
    expect(err).toBe("error: x\n");
  });

  it("an error printed by the binary into a pipe has no colour even with a TTY elsewhere", async () => {
    const result = await runCli(["--lock-timeout", "30", "validate"], { env: { TERM: "xterm-256color" } });
    expect(result.stderr).not.toMatch(ANSI);
  });
});

describe("durations", () => {
  it("a bare number is refused with the grammar's hint, for flags and config alike", async () => {
    const flag = await runCli(["--lock-timeout", "30", "validate"]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('"30" has no unit; write a duration with a unit: 500ms, 30s, 10m, 1h30m');
    const emulator = await runCli(["emulator", "--latency", "3000", "--port", "0"]);
    expect(emulator.code).toBe(1);
    expect(emulator.stderr).toContain('"3000" has no unit');
  });

  it("compound durations are accepted", async () => {
    const result = await runCli(["-C", join(EXAMPLES, "quickstart"), "--lock-timeout", "1m30s", "validate"]);
    expect(result.code).toBe(0);
  });
});

describe("progress line", () => {
  it("fits the terminal width and gives long ETAs in minutes and hours", () => {
    const state = { sent: 1000, total: 10_000_000, requests: 1, retries: 0, elapsedMs: 1000, active: Array.from({ length: 30 }, (_, i) => `cohorts.some_long_cohort_name_${i}`) };
    for (const columns of [40, 80, 120]) expect(progressLine(state, columns).length).toBeLessThanOrEqual(columns - 1);
    expect(progressLine(state, 200)).toMatch(/\+\d+ more\]$/);
    expect(formatEta(42)).toBe("42s");
    expect(formatEta(754)).toBe("12m34s");
    expect(formatEta(7500)).toBe("2h05m");
    expect(progressLine(state)).toContain("ETA 2h46m");
  });
});

describe("version and completion", () => {
  it("coho version, --version and --version --json", async () => {
    const version = await runCli(["version"]);
    expect(version.stdout).toMatch(/^coho \d+\.\d+\.\d+/);
    const flag = await runCli(["--version"]);
    expect(flag.stdout).toBe(version.stdout);
    const json = JSON.parse((await runCli(["--version", "--json"])).stdout) as Record<string, string>;
    expect(json.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(json.node).toBe(process.version);
    expect(json.duckdb).toMatch(/^\d+\.\d+/);
  });

  it("bash completion offers commands, flags and the project's cohort addresses", () => {
    const bin = mkdtempSync(join(tmpdir(), "coho-bin-"));
    writeFileSync(join(bin, "coho"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(COHO_BIN)} "$@"\n`);
    chmodSync(join(bin, "coho"), 0o755);
    const complete = (words: string[]) => {
      // As readline calls it: the line up to the cursor, and the word being completed as $2.
      const line = `coho ${words.join(" ")}`;
      const script = `source <(coho completion bash)\nCOMP_LINE=${JSON.stringify(line)}\nCOMP_POINT=${line.length}\n_coho_complete coho ${JSON.stringify(words[words.length - 1])} \nprintf '%s\\n' "\${COMPREPLY[@]}"`;
      const result = spawnSync("bash", ["-c", script], { cwd: join(EXAMPLES, "quickstart"), encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      return result.stdout.split("\n").filter(Boolean);
    };
    expect(complete(["pl"])).toEqual(["plan"]);
    expect(complete(["plan", "--tar"])).toEqual(["--target"]);
    expect(complete(["plan", "--target", ""])).toEqual(["cohorts.newsletter_readers", "cohorts.recent_buyers"]);
    expect(complete(["state", "show", "cohorts.rec"])).toEqual(["cohorts.recent_buyers"]);
    expect(complete(["completion", ""])).toEqual(["bash", "fish", "zsh"]);
  });

  it("zsh and fish scripts are printed; an unknown shell is a usage error", async () => {
    expect((await runCli(["completion", "zsh"])).stdout).toContain("#compdef coho");
    expect((await runCli(["completion", "fish"])).stdout).toContain("complete -c coho");
    const bad = await runCli(["completion", "tcsh"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("choose one of bash, zsh, fish");
  });
});

describe("coho init's schema modeline works for teammates", () => {
  it("points into the project's node_modules/coho when coho is installed there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coho-init-nm-"));
    mkdirSync(join(dir, "node_modules", "coho", "schema"), { recursive: true });
    writeFileSync(join(dir, "node_modules", "coho", "schema", "coho.schema.json"), "{}");
    const result = await runCli(["init", dir]);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, "coho.yaml"), "utf8")).toMatch(/^# yaml-language-server: \$schema=\.\/node_modules\/coho\/schema\/coho\.schema\.json$/m);
  });
});
