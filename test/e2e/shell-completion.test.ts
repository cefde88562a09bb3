import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { SECRET_ENV, coho } from "../helpers/apply-project.js";
import { COHO_BIN } from "../helpers/cli.js";
import { emulator } from "../helpers/emulator.js";
import { destinationEntry } from "../helpers/project.js";
import { TmuxShell } from "../helpers/tmux-shell.js";

/**
 * Completion as a user gets it: `coho completion SHELL` loaded into real bash,
 * zsh and fish (Debian's packages, installed by .ci/run), keys typed through
 * tmux, the command line read back from the screen, and the completed command
 * run. The project has a cohort set whose instance addresses hold quotes,
 * brackets, a | and a space.
 */
type Shell = "bash" | "zsh" | "fish";

let emu: RunningEmulator;
let root: string;
let project: string;

beforeAll(async () => {
  emu = await emulator();
  root = mkdtempSync(join(tmpdir(), "coho-completion-"));
  project = join(root, "project");
  mkdirSync(project);
  mkdirSync(join(root, "plans-folder"));
  writeFileSync(join(project, "saved-plan.coho"), "");
  writeFileSync(join(project, "coho.yaml"), `version: 1
destinations:
${destinationEntry("braze", emu.url)}models:
  members:
    sql: select * from (values ('DE', 'u1'), ('FR', 'u2'), ('A|B c', 'u3')) t(country, user_id)
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  by_country:
    name: "Country {key}"
    destination: braze
    model: members
    identifier: user_id
    for_each: { key: country }
`);
  const applied = await coho(project, ["apply", "--auto-approve"]);
  expect(applied.code, applied.stderr).toBe(0);
  // `coho` on PATH, as an installed package puts it there.
  mkdirSync(join(root, "bin"));
  writeFileSync(join(root, "bin", "coho"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(COHO_BIN)} "$@"\n`);
  chmodSync(join(root, "bin", "coho"), 0o755);
  // Each shell's own start-up file: a plain prompt, coho's completion loaded, in the project.
  writeFileSync(join(root, "bashrc"), `PS1='$ '\nsource <(coho completion bash)\ncd ${JSON.stringify(project)}\n`);
  mkdirSync(join(root, "zdot"));
  writeFileSync(join(root, "zdot", ".zshrc"), `PS1='$ '\nautoload -U compinit && compinit -u -d ${JSON.stringify(join(root, "zcompdump"))}\nsource <(coho completion zsh)\ncd ${JSON.stringify(project)}\n`);
  mkdirSync(join(root, "config", "fish"), { recursive: true });
  writeFileSync(join(root, "config", "fish", "config.fish"), `function fish_prompt; echo -n '$ '; end\nfunction fish_greeting; end\ncoho completion fish | source\ncd ${JSON.stringify(project)}\n`);
}, 120_000);
afterAll(async () => emu.close());

let sessions = 0;
async function start(shell: Shell): Promise<TmuxShell> {
  const env = {
    PATH: `${join(root, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: root,
    TERM: "screen",
    ZDOTDIR: join(root, "zdot"),
    XDG_CONFIG_HOME: join(root, "config"),
    XDG_DATA_HOME: join(root, "data"),
    ...SECRET_ENV,
  };
  const command = { bash: ["bash", "--noprofile", "--rcfile", join(root, "bashrc"), "-i"], zsh: ["zsh", "-i"], fish: ["fish", "-i"] }[shell];
  return TmuxShell.start(`coho-test-${process.pid}-${sessions++}`, command, env);
}

/** Types each piece, pressing Tab after each but the last when `tab` says so; returns the command line. */
async function typeAndComplete(shell: TmuxShell, pieces: readonly string[]): Promise<string> {
  let line = "";
  for (const piece of pieces) {
    shell.type(piece);
    line = await shell.tab();
  }
  return line;
}

/** What the user types in each shell to reach the instance `cohorts.by_country["DE"]`, with Tab between pieces, and the line that results. */
const INSTANCE: Record<Shell, { pieces: string[]; line: string }> = {
  // bash leaves the quoting to coho: single quotes, which bash reads back exactly.
  bash: { pieces: ["coho state show cohorts.by_country[", "D"], line: `coho state show 'cohorts.by_country["DE"]'` },
  // zsh quotes what compadd inserts: backslashes.
  zsh: { pieces: ["coho state show cohorts.by_country\\[", "D"], line: `coho state show cohorts.by_country\\[\\"DE\\"\\]` },
  fish: { pieces: ["coho state show cohorts.by_country[", "D"], line: `coho state show cohorts.by_country\\[\\"DE\\"\\]` },
};

describe.each(["bash", "zsh", "fish"] as const)("%s completion, in the real shell", (name) => {
  it("inserts a set instance quoted so that the command works", async () => {
    const shell = await start(name);
    try {
      expect(await typeAndComplete(shell, INSTANCE[name].pieces)).toBe(INSTANCE[name].line);
      const screen = await shell.enter((s) => s.includes('"name": "Country DE"') || /error/i.test(s));
      expect(screen).toContain('"name": "Country DE"');
    } finally {
      shell.close();
    }
  }, 90_000);

  it("completes a key with | and a space inside an opened quote", async () => {
    const shell = await start(name);
    try {
      expect(await typeAndComplete(shell, [`coho plan --target 'cohorts.by_country["A`])).toBe(`coho plan --target 'cohorts.by_country["A|B c"]'`);
    } finally {
      shell.close();
    }
  }, 90_000);

  it("offers the shells after coho completion, and file names for -C, --out and plan files", async () => {
    const shell = await start(name);
    try {
      expect(await typeAndComplete(shell, ["coho completion fi"])).toBe("coho completion fish");
    } finally {
      shell.close();
    }
    for (const [typed, expected] of [
      ["coho -C ../plans-f", "coho -C ../plans-folder/"],
      ["coho plan --out ../plans-f", "coho plan --out ../plans-folder/"],
      ["coho apply saved-p", "coho apply saved-plan.coho"],
    ] as const) {
      const files = await start(name);
      try {
        expect(await typeAndComplete(files, [typed])).toBe(expected);
      } finally {
        files.close();
      }
    }
  }, 120_000);
});
