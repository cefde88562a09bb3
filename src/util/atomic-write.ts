import { closeSync, fsyncSync, openSync, renameSync, writeSync, unlinkSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import { removeTemp } from "./output-target.js";

/**
 * Writes a file so that readers see either the old or the new content, never a
 * mix: write a temporary file in the same folder, fsync it, rename it over the
 * target, then fsync the folder so the rename itself survives a crash.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, "wx", 0o644);
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
  try {
    // A folder in the way (or any other refusal) must not leave the temporary file behind.
    renameSync(temp, path);
  } catch (error) {
    removeTemp(temp);
    throw error;
  }
  fsyncDir(dirname(path));
}

/** Makes renames into a folder durable; some platforms cannot fsync a directory (the rename is still atomic there). */
export function fsyncDir(path: string): void {
  try {
    const dir = openSync(path, "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Not supported here (e.g. Windows): nothing more can be done.
  }
}

/**
 * Flushes a file written by someone else (e.g. DuckDB's COPY) to disk, on libuv's
 * thread pool: many files written side by side are flushed side by side, and the
 * main thread keeps running meanwhile.
 */
export async function fsyncFileAsync(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
