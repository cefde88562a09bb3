import { closeSync, fsyncSync, openSync, renameSync, writeSync, unlinkSync } from "node:fs";
import { dirname, basename, join } from "node:path";

/**
 * Writes a file so that readers see either the old or the new content, never a
 * mix: write a temporary file in the same folder, fsync it, rename it over the
 * target, then fsync the folder so the rename itself survives a crash.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, "w", 0o644);
  try {
    const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    // writeSync may write less than asked (a full disk): loop, and fail on no progress.
    for (let written = 0; written < bytes.length; ) {
      const n = writeSync(fd, bytes, written, bytes.length - written);
      if (n <= 0) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      written += n;
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  try {
    const dir = openSync(dirname(path), "r");
    fsyncSync(dir);
    closeSync(dir);
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

/** Flushes a file written by someone else (e.g. DuckDB's COPY) to disk. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
