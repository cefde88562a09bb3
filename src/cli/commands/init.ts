import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Option, type Command } from "commander";
import kleur from "kleur";
import { DEFAULT_SCAFFOLD, GITIGNORE_ENTRIES, ROAD_CHOICES, ROAD_TEMPLATES, SOURCE_CHOICES, SOURCE_TEMPLATES, scaffoldFiles, type RoadChoice, type SourceChoice } from "../../config/scaffold.js";
import { CohoError, UsageError } from "../../model/errors.js";
import { displayPath } from "../../render/paths.js";
import { COHO_VERSION } from "../../version.js";
import type { CommandContext } from "../context.js";
import { EXIT_OK } from "../exit-codes.js";
import { openPrompter } from "../prompt.js";

interface InitFlags {
  road?: RoadChoice;
  source?: SourceChoice;
  github?: boolean;
}

export function registerInit(program: Command, context: () => CommandContext, setExitCode: (code: number) => void): void {
  program
    .command("init")
    .argument("[dir]", "folder for the new project (created if missing)", ".")
    .description("scaffold a working project: coho.yaml, a model, sample data, .env.example, .env, .gitignore")
    .addOption(new Option("--road <road>", `how Braze is written: ${ROAD_CHOICES.map((r) => `${r} (${ROAD_TEMPLATES[r].summary})`).join("; ")} (default: ${DEFAULT_SCAFFOLD.road})`).choices(ROAD_CHOICES))
    .addOption(new Option("--source <type>", `where the model runs: ${SOURCE_CHOICES.join(", ")} (default: ${DEFAULT_SCAFFOLD.source})`).choices(SOURCE_CHOICES))
    .option("--github", "also write .github/workflows/coho.yml (plan on pull requests, apply on merge, through the coho action) and keep state in PostgreSQL")
    .action(async (dir: string, flags: InitFlags) => {
      setExitCode(await runInit(context(), dir, flags));
    });
}

async function runInit(ctx: CommandContext, dir: string, flags: InitFlags): Promise<number> {
  const target = resolve(ctx.io.cwd, ctx.global.dir, dir);
  const choices = await chooseScaffold(ctx, flags);
  const files = scaffoldFiles(target, { ...choices, version: COHO_VERSION });
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
    `${kleur.green("Created")} a coho project in ${shown} (road: ${choices.road}, source: ${choices.source}${choices.github ? ", GitHub workflow" : ""}):`,
    ...files.map((f) => `  ${f.path}`),
    `  .gitignore ${gitignore}`,
    "",
    "Next:",
    `  coho -C ${shown} validate`,
    `  coho emulator                      # a local Braze, in another terminal`,
    `  coho -C ${shown} plan`,
    ...(choices.github ? ["", "Then fill in .github/workflows/coho.yml's env: values and the secrets it names (docs/pull-requests.md)."] : []),
  ];
  ctx.output.out(lines.join("\n"));
  return EXIT_OK;
}

/**
 * The flags, with every choice not given asked on a terminal; without one
 * (a pipe, CI) the defaults, never a prompt.
 */
async function chooseScaffold(ctx: CommandContext, flags: InitFlags): Promise<{ road: RoadChoice; source: SourceChoice; github: boolean }> {
  const interactive = ctx.io.stdin.isTTY === true && ctx.io.stderr.isTTY === true;
  if (!interactive) return { road: flags.road ?? DEFAULT_SCAFFOLD.road, source: flags.source ?? DEFAULT_SCAFFOLD.source, github: flags.github ?? DEFAULT_SCAFFOLD.github };
  const prompter = await openPrompter(ctx.io);
  const pick = async <T extends string>(what: string, options: readonly T[], describe: (o: T) => string, fallback: T): Promise<T> => {
    const menu = options.map((o, i) => `  ${i + 1}. ${o}: ${describe(o)}`).join("\n");
    const answer = await prompter.ask(`${what}\n${menu}\nChoose 1-${options.length} or a name [${fallback}]: `);
    if (answer === "") return fallback;
    const found = options.find((o, i) => answer === o || answer === String(i + 1));
    if (!found) throw new UsageError(`${JSON.stringify(answer.slice(0, 40))} is not one of ${options.join(", ")}`, "run coho init again, or pass --road and --source");
    return found;
  };
  try {
    const road = flags.road ?? (await pick("How should coho write to Braze?", ROAD_CHOICES, (r) => ROAD_TEMPLATES[r].summary, DEFAULT_SCAFFOLD.road));
    const source = flags.source ?? (await pick("Where do the models run?", SOURCE_CHOICES, (s) => SOURCE_TEMPLATES[s].summary, DEFAULT_SCAFFOLD.source));
    const github = flags.github ?? /^y(es)?$/i.test(await prompter.ask("Also write a GitHub Actions workflow (plan on pull requests, apply on merge)? [y/N]: "));
    return { road, source, github };
  } finally {
    prompter.close();
  }
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
