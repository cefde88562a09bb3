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
}

export interface SandboxRequest {
  readonly projectDir: string;
  /** Files the engine must reach beyond the project's own entries (DuckDB database files). */
  readonly files?: readonly string[];
  /** Opt-ins (`sources.<name>.allowed_paths`), absolute: folders or files. */
  readonly allowed?: readonly string[];
}

/** Folders under the state folder the engine itself writes and reads. */
export const ENGINE_STATE_DIRS = [join(".coho", "snapshots"), join(".coho", "tmp")] as const;

/** Entries at the top of the project never readable by models, even if not hidden. */
const NEVER_ALLOWED = new Set(["node_modules"]);

/** Most entries walked when looking for symbolic links that leave the project. */
export const SYMLINK_SCAN_LIMIT = 100_000;

export function projectSandbox(request: SandboxRequest): EngineSandbox {
  const { projectDir } = request;
  const directories: string[] = ENGINE_STATE_DIRS.map((d) => withSlash(join(projectDir, d)));
  const paths: string[] = [];
  const realProject = realOrSelf(projectDir);
  const allowedReal = (request.allowed ?? []).map(realOrSelf);
  for (const entry of topEntries(projectDir)) {
    const absolute = join(projectDir, entry.name);
    const real = realOrSelf(absolute);
    // A top-level link out of the project is only followed when an opt-in covers its target.
    if (!readable(realProject, allowedReal, real)) continue;
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(absolute));
    if (isDir) directories.push(...forms(projectDir, absolute).map(withSlash));
    else paths.push(...forms(projectDir, absolute));
    if (isDir) refuseLinksOut(projectDir, absolute, realProject, allowedReal);
  }
  for (const file of request.files ?? []) paths.push(...forms(projectDir, file), ...forms(projectDir, `${file}.wal`));
  for (const opt of request.allowed ?? []) {
    if (isDirectory(opt)) directories.push(...forms(projectDir, opt).map(withSlash));
    else paths.push(...forms(projectDir, opt));
  }
  return { directories: [...new Set(directories)], paths: [...new Set(paths)] };
}

function topEntries(projectDir: string): Dirent[] {
  try {
    return readdirSync(projectDir, { withFileTypes: true }).filter((e) => !e.name.startsWith(".") && !NEVER_ALLOWED.has(e.name));
  } catch {
    return [];
  }
}

/**
 * DuckDB checks the path as written, so a symbolic link inside an allowed folder
 * would lead anywhere (`data/x -> /proc/self/environ`). Such a link is refused
 * unless an opt-in covers its target. The walk stops after SYMLINK_SCAN_LIMIT entries.
 */
function refuseLinksOut(projectDir: string, dir: string, realProject: string, allowedReal: readonly string[]): void {
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
      if (readable(realProject, allowedReal, real)) continue;
      throw new CohoError("sandbox.link_outside", `${relative(projectDir, path)} is a symbolic link to ${real}, outside the project folder: models may only read files inside it`, {
        location: { file: path, line: 1, column: 1 },
        hint: "remove the link, copy the data into the project, or list the target under sources.<name>.allowed_paths (see README, \"Running plan on pull requests safely\")",
      });
    }
  }
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

