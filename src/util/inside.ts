import { realpathSync } from "node:fs";
import { relative, sep } from "node:path";

/** Whether `path` is `dir` or inside it (both absolute; compare real paths to see through links). */
export function within(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The real path (symbolic links resolved), or the path itself when it does not exist. */
export function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Whether `path`, after resolving symbolic links, lies inside `dir` (so a link
 * inside the project pointing out of it does not count as inside).
 */
export function insideReal(dir: string, path: string): boolean {
  return within(realOrSelf(dir), realOrSelf(path));
}

/** `path` relative to `dir` for messages (`../x.sql` stays visible as leaving it). */
export function shown(dir: string, path: string): string {
  return relative(dir, path) || ".";
}

/**
 * Whether a path inside `dir` passes through a hidden entry (`.git/`, `.env`,
 * `.coho/`): those hold credentials and state, never configuration or SQL.
 */
export function hiddenWithin(dir: string, path: string): boolean {
  return relative(realOrSelf(dir), realOrSelf(path)).split(sep).some((segment) => segment.startsWith(".") && segment !== "..");
}
