import { readdirSync, statSync, type Dirent } from "node:fs";
import { join, relative, sep } from "node:path";
import { CohoError } from "../model/errors.js";
import { realOrSelf, within } from "../util/inside.js";

/**
 * What the embedded DuckDB may open (`allowed_directories` / `allowed_paths`, with
 * `enable_external_access = false` and the configuration locked): model SQL is
 * code from a pull request, and `plan` runs it in CI next to secrets.
 *
 * Allowed: every non-hidden entry at the top of the project folder (folders with
 * all they hold, files themselves), coho's own `.coho/snapshots/` and `.coho/tmp/`,
 * each DuckDB source's database file, and the `allowed_paths` a source opts into.
 * Hidden entries at the top (`.git/`, `.env`, `.github/`, the journal and lock in
 * `.coho/`) and everything outside the project are not.
 *
 * DuckDB matches these as text before it resolves a relative path, so each entry
 * is listed both absolute and relative to the project (`data/`), which is what
 * `read_csv('data/x.csv')` checks against.
 */
export interface EngineSandbox {
  readonly directories: readonly string[];
  readonly paths: readonly string[];
  /** Top-level folders left out because they hold a link leading out, described for hints. */
  readonly excluded?: readonly string[];
}

export interface SandboxRequest {
  readonly projectDir: string;
  /** Files the engine must reach beyond the project's own entries (DuckDB database files). */
  readonly files?: readonly string[];
  /** Opt-ins (`sources.<name>.allowed_paths`), absolute: folders or files. */
  readonly allowed?: readonly string[];
  /** The local state folder when it is not `.coho` (an environment's): its snapshots/ is the engine's too. */
  readonly stateDir?: string;
}

/** Folders under the state folder the engine itself writes and reads. */
export const ENGINE_STATE_DIRS = [join(".coho", "snapshots"), join(".coho", "tmp")] as const;

/** Entries at the top of the project never readable by models, even if not hidden. */
const NEVER_ALLOWED = new Set(["node_modules"]);

/** Most entries walked when looking for symbolic links that leave the project. */
export const SYMLINK_SCAN_LIMIT = 100_000;

export function projectSandbox(request: SandboxRequest): EngineSandbox {
  const { projectDir } = request;
  const stateDirs = request.stateDir === undefined ? ENGINE_STATE_DIRS : [...ENGINE_STATE_DIRS, join(request.stateDir, "snapshots")];
  const directories: string[] = stateDirs.map((d) => withSlash(join(projectDir, d)));
  const paths: string[] = [];
  const excluded: string[] = [];
  const realProject = realOrSelf(projectDir);
  const allowedReal = (request.allowed ?? []).map(realOrSelf);
  for (const entry of topEntries(projectDir)) {
    const absolute = join(projectDir, entry.name);
    const real = realOrSelf(absolute);
    // A top-level link out of the project is only followed when an opt-in covers its target.
    if (!readable(realProject, allowedReal, real)) continue;
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(absolute));
    if (!isDir) {
      paths.push(...forms(projectDir, absolute));
      continue;
    }
    const leak = linkOut(projectDir, absolute, realProject, allowedReal);
    if (leak) excluded.push(`${entry.name}/ (${leak})`);
    else directories.push(...forms(projectDir, absolute).map(withSlash));
  }
  for (const file of request.files ?? []) paths.push(...forms(projectDir, file), ...forms(projectDir, `${file}.wal`));
  for (const opt of request.allowed ?? []) {
    if (isDirectory(opt)) directories.push(...forms(projectDir, opt).map(withSlash));
    else paths.push(...forms(projectDir, opt));
  }
  return { directories: [...new Set(directories)], paths: [...new Set(paths)], excluded };
}

function topEntries(projectDir: string): Dirent[] {
  try {
    const entries = readdirSync(projectDir, { withFileTypes: true }).filter((e) => !e.name.startsWith(".") && !NEVER_ALLOWED.has(e.name));
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

/**
 * DuckDB checks the path as written, so a symbolic link inside an allowed folder
 * would lead anywhere (`data/x -> /proc/self/environ`). A folder holding such a
 * link (one no opt-in covers) is left out of the sandbox whole: its files are not
 * readable, and the hint on a refused read names the link. Returns that link, or
 * undefined. The walk stops after SYMLINK_SCAN_LIMIT entries.
 */
function linkOut(projectDir: string, dir: string, realProject: string, allowedReal: readonly string[]): string | undefined {
  const stack = [dir];
  let seen = 0;
  while (stack.length > 0 && seen < SYMLINK_SCAN_LIMIT) {
    const current = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (++seen > SYMLINK_SCAN_LIMIT) break;
      const path = join(current, entry.name);
      if (entry.isDirectory()) stack.push(path);
      if (!entry.isSymbolicLink()) continue;
      const real = realOrSelf(path);
      if (!readable(realProject, allowedReal, real)) return `${relative(projectDir, path)} links to ${real}`;
    }
  }
  return undefined;
}

/**
 * A link target a model may read through: inside the project but not under a
 * hidden top-level entry (a link `data -> .git` would expose it), or covered by
 * an opt-in.
 */
function readable(realProject: string, allowedReal: readonly string[], real: string): boolean {
  if (allowedReal.some((a) => within(a, real))) return true;
  if (!within(realProject, real) || real === realProject) return false;
  const top = relative(realProject, real).split(sep)[0] ?? "";
  return !top.startsWith(".") && !NEVER_ALLOWED.has(top);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The absolute form, plus the project-relative one for paths inside the project
 * (never `../…`: DuckDB would resolve that against the working directory too).
 */
function forms(projectDir: string, path: string): string[] {
  const rel = relative(projectDir, path);
  return rel === "" || rel.startsWith("..") || rel.startsWith(sep) ? [path] : [path, rel];
}

function withSlash(path: string): string {
  return path.endsWith(sep) ? path : path + sep;
}


/** DuckDB's words when the sandbox refuses a file. */
const REFUSED = "file system operations are disabled by configuration";

/**
 * A model error caused by the sandbox gets a hint saying what models may read,
 * how to widen it, and which folders were left out for holding a link.
 */
export function withSandboxHint(error: Error, sandbox: EngineSandbox, sourceName: string): Error {
  if (!(error instanceof CohoError) || !error.message.includes(REFUSED)) return error;
  const excluded = sandbox.excluded?.length ? `; left out for holding a link out of the project: ${sandbox.excluded.join(", ")}` : "";
  const hint = `models read only the project's own files (not hidden ones like .git/ or .env, nothing outside it)${excluded}. To read more, list it under sources.${sourceName}.allowed_paths; a path outside the project also needs the pipeline's --allow-path or COHO_ALLOW_PATHS (docs/pull-requests.md: "Running plan on pull requests safely")`;
  return new CohoError(error.code, error.message, { ...(error.location ? { location: error.location } : {}), hint: `${error.hint ? `${error.hint}; ` : ""}${hint}` });
}
