import { existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { insideReal } from "../util/inside.js";
import { parseEnv } from "node:util";

/** Looks up an environment variable; undefined when unset. */
export type EnvLookup = (name: string) => string | undefined;

/** The most a `.env` may hold: it is a handful of settings, read whole. */
const ENV_FILE_LIMIT = 1024 * 1024;

/**
 * Why `.env` may not be read, or undefined when it may (or is absent). A pull
 * request commits `.env` too: it must be a regular file of the project, not a
 * link to a file elsewhere (another service's credentials, /proc/self/environ)
 * nor a FIFO or device whose read would never end.
 */
export function envFileProblem(projectDir: string, envFile: string): string | undefined {
  let stat;
  try {
    stat = lstatSync(envFile);
  } catch {
    return undefined;
  }
  if (stat.isSymbolicLink() && !insideReal(projectDir, envFile)) return "is a link to a file outside the project folder";
  let target;
  try {
    target = statSync(envFile);
  } catch {
    return "is a link to nothing";
  }
  if (!target.isFile()) return "is not a regular file";
  if (target.size > ENV_FILE_LIMIT) return `is larger than ${ENV_FILE_LIMIT / 1024} KiB`;
  return undefined;
}

/**
 * The real environment first, then `.env` beside coho.yaml: a value already in the
 * environment is never overridden (as with dotenv and docker compose).
 */
export function projectEnv(envFile: string, real: NodeJS.ProcessEnv): EnvLookup {
  let fromFile: Record<string, string> = {};
  if (existsSync(envFile)) {
    fromFile = parseEnv(readFileSync(envFile, "utf8")) as Record<string, string>;
  }
  return (name) => real[name] ?? fromFile[name];
}

/** `${env:NAME}` or `${env:NAME:-default}`; `$${…}` is a literal `${…}`. */
const REFERENCE = /\$?\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** Something that starts like a reference but does not parse as one. */
const BROKEN_REFERENCE = /(?<!\$)\$\{env:(?![A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})/;

export type InterpolationResult =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly missing: string; readonly reference: string }
  | { readonly ok: false; readonly malformed: true };

export function interpolate(text: string, env: EnvLookup): InterpolationResult {
  if (BROKEN_REFERENCE.test(text)) return { ok: false, malformed: true };
  let missing: { name: string; reference: string } | undefined;
  const value = text.replace(REFERENCE, (whole, name: string, fallback: string | undefined) => {
    if (whole.startsWith("$$")) return whole.slice(1);
    const found = env(name);
    // As in the shell, `:-default` also replaces a variable that is set but empty.
    if (found !== undefined && (found !== "" || fallback === undefined)) return found;
    if (fallback !== undefined) return fallback;
    missing ??= { name, reference: whole };
    return "";
  });
  if (missing) return { ok: false, missing: missing.name, reference: missing.reference };
  return { ok: true, value };
}

/** The variable name of a whole-value reference `${env:NAME}`, else undefined. */
export function wholeReference(text: string): string | undefined {
  return /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(text)?.[1];
}
