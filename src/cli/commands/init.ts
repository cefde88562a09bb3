import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import kleur from "kleur";
import { GITIGNORE_ENTRIES, scaffoldFiles } from "../../config/scaffold.js";
import { CohoError } from "../../model/errors.js";
import { displayPath } from "../../render/paths.js";
import type { CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";

export function registerInit(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("init")
    .argument("[dir]", "folder for the new project (created if missing)", ".")
    .description("scaffold a working project: coho.yaml, a model, sample data, .env")
    .action((dir: string) => {
      setExitCode(runInit(context(), dir));
    });
}

function runInit(ctx: CommandContext, dir: string): number {
  const target = resolve(ctx.io.cwd, ctx.global.dir, dir);
  const files = scaffoldFiles(target);
  // Check everything first: either all files are written or none.
  const existing = files.filter((f) => existsSync(join(target, f.path))).map((f) => f.path);
  if (existing.length > 0) {
    throw new CohoError("init.exists", `refusing to overwrite existing files in ${displayPath(target, ctx.io.cwd)}: ${existing.join(", ")}`, {
      hint: "choose an empty folder, e.g. coho init my-cohorts",
    });
  }
  for (const file of files) {
    const path = join(target, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { flag: "wx" });
  }
  const gitignore = ensureGitignore(target);
  const shown = displayPath(target, ctx.io.cwd);
  const lines = [
    `${kleur.green("Created")} a coho project in ${shown}:`,
    ...files.map((f) => `  ${f.path}`),
    `  .gitignore ${gitignore}`,
    "",
    "Next:",
    `  coho -C ${shown} validate`,
  ];
  ctx.output.out(lines.join("\n"));
  return EXIT_OK;
}

/** Adds the entries that keep secrets and local state out of git; never rewrites. */
function ensureGitignore(target: string): string {
  const path = join(target, ".gitignore");
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  const present = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = GITIGNORE_ENTRIES.filter((e) => !present.has(e));
  if (missing.length === 0) return "(already ignores .env and .coho/)";
  const prefix = current === "" || current.endsWith("\n") ? "" : "\n";
  appendFileSync(path, `${prefix}${missing.join("\n")}\n`);
  return current === "" ? "(created)" : `(added ${missing.join(", ")})`;
}
