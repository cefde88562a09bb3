import { resolve } from "node:path";
import { ALLOW_PATHS_ENV, allowPathsFrom } from "../model/allow-paths.js";
import type { CliIo, Output } from "./io.js";

/** Global options, parsed once, handed to every command. */
export interface GlobalOptions {
  readonly dir: string;
  readonly color: boolean;
  readonly lockTimeoutMs: number;
  /** `--var name=value`, by name. */
  readonly vars: Readonly<Record<string, string>>;
  /** `--allow-path`, as written. */
  readonly allowPaths: readonly string[];
  /** `--env NAME`: the environment of `environments:` to work on (else COHO_ENV, else the default one). */
  readonly env?: string;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly output: Output;
  readonly global: GlobalOptions;
  /** Source texts of config files, for code frames in error output. */
  texts: ReadonlyMap<string, string>;
}

export function projectDir(context: CommandContext): string {
  return resolve(context.io.cwd, context.global.dir);
}

/**
 * A path given to a command (an argument, a path-valued option, COHO_ALLOW_PATHS),
 * as an absolute path. Like Terraform's `-chdir`, `-C DIR` moves where relative
 * paths start: they are relative to the project folder, not the shell's folder.
 */
export function argumentPath(context: CommandContext, path: string): string {
  return resolve(projectDir(context), path);
}

/**
 * What every command that loads the configuration passes on from outside it:
 * `--var` values, and the paths opted in by `--allow-path` and COHO_ALLOW_PATHS
 * (read from the real environment only, never from `.env`), relative ones
 * against the project folder (`-C`).
 */
export function configInputs(ctx: CommandContext): { vars: Readonly<Record<string, string>>; allowPaths: string[]; environment?: string } {
  const environment = chosenEnvironment(ctx);
  return { vars: ctx.global.vars, allowPaths: allowPathsFrom(ctx.global.allowPaths, ctx.io.env[ALLOW_PATHS_ENV], projectDir(ctx)), ...(environment === undefined ? {} : { environment }) };
}

/** `--env NAME`, else COHO_ENV (the real environment, like every pipeline setting), else none. */
export function chosenEnvironment(ctx: CommandContext): string | undefined {
  const fromEnv = ctx.io.env.COHO_ENV?.trim();
  return ctx.global.env ?? (fromEnv ? fromEnv : undefined);
}
