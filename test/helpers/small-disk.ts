import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Root may mount a size-limited tmpfs: a real full disk. Elsewhere tests inject short writes. */
export const CAN_MOUNT = process.getuid?.() === 0;

/** A real file system of `size` (e.g. "8m") at a fresh folder; `unmount` in teardown. */
export function mountSmallDisk(size: string): { dir: string; unmount: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "coho-small-disk-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  return {
    dir,
    unmount: () => {
      execFileSync("umount", ["-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system of `dir` until it is full, leaving `leave` bytes free; returns the filler's path. */
export function fillDisk(dir: string, leave = 0): string {
  const path = join(dir, `filler-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (;;) {
      const free = freeBytes(dir) - leave;
      if (free <= 0) break;
      writeSync(fd, chunk, 0, Math.min(chunk.length, free));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}

export function freeBytes(dir: string): number {
  const out = execFileSync("df", ["-B1", "--output=avail", dir], { encoding: "utf8" });
  return Number(out.trim().split("\n").pop());
}
