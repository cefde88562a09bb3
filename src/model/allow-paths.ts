import { delimiter, isAbsolute, resolve } from "node:path";

/**
 * The pipeline's opt-in for paths outside the project (or hidden inside it):
 * a list like PATH, set in the environment of the job, never in `.env` or
 * coho.yaml, which a pull request edits.
 */
export const ALLOW_PATHS_ENV = "COHO_ALLOW_PATHS";

/** `--allow-path` values and COHO_ALLOW_PATHS, as absolute paths (relative ones against `base`, the project folder). */
export function allowPathsFrom(flags: readonly string[], envValue: string | undefined, base: string): string[] {
  const fromEnv = (envValue ?? "").split(delimiter).filter((p) => p !== "");
  return [...flags, ...fromEnv].map((p) => (isAbsolute(p) ? p : resolve(base, p)));
}
