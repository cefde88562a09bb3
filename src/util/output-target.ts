import { statSync, unlinkSync } from "node:fs";
import { CohoError } from "../model/errors.js";

/**
 * A file coho is asked to write (`--out`, `--html`) must be a regular file or not
 * exist yet. Writing goes through a temporary file renamed over the target, which
 * would turn a device or FIFO into a regular file (as root, `/dev/full` itself)
 * and fail on a folder only after the work is done: refuse before any work.
 * A symbolic link is judged by what it leads to (the rename replaces the link).
 */
export function refuseNonRegularTarget(path: string, flag: string): void {
  let kind: string | undefined;
  try {
    const stats = statSync(path);
    if (stats.isFile()) return;
    kind = stats.isDirectory() ? "a folder" : stats.isFIFO() ? "a FIFO" : stats.isCharacterDevice() || stats.isBlockDevice() ? "a device" : stats.isSocket() ? "a socket" : "not a regular file";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    kind = `unreadable (${(error as NodeJS.ErrnoException).code ?? "error"})`;
  }
  throw new CohoError("io.out_not_a_file", `cannot write ${path}: it is ${kind}, not a regular file; coho writes only regular files`, { hint: `give ${flag} the path of a file, e.g. ${flag} ${path.replace(/\/+$/, "")}/out.file` });
}

/** Removes a temporary file after a failed write; it may not exist (the failure came first). */
export function removeTemp(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or never created.
  }
}
