import { resolve } from "node:path";
import type { CliIo, Output } from "./io.js";

/** Global options, parsed once, handed to every command. */
export interface GlobalOptions {
  readonly dir: string;
  readonly color: boolean;
  readonly lockTimeoutMs: number;
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
