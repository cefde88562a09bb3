import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { CohoError } from "../model/errors.js";
import type { LockInfo } from "../model/state.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { describeLock } from "./lock-holder.js";
import { stateWriteError } from "./storage-error.js";

export interface LockEvents {
  /** A lock left by a dead process on this host was taken over. */
  readonly staleTakenOver?: (previous: LockInfo) => void;
  readonly waiting?: (holder: LockInfo) => void;
}

/**
 * The local state lock: `.coho/lock.json`, created atomically (written to a temp
 * file, then hard-linked into place, which fails if the lock exists), so a reader
 * never sees a half-written lock.
 */
export class LocalLock {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async acquire(info: LockInfo, timeoutMs: number, events: LockEvents = {}): Promise<() => void> {
    const temp = join(dirname(this.path), `.lock.${info.id}.tmp`);
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      writeFileAtomic(temp, `${JSON.stringify(info, null, 2)}\n`);
    } catch (error) {
      rmSync(temp, { force: true });
      throw stateWriteError("the state lock", this.path, error, "nothing was sent and the state is untouched");
    }
    const deadline = Date.now() + timeoutMs;
    let warnedWaiting = false;
    try {
      for (;;) {
        try {
          linkSync(temp, this.path);
          return () => this.#release(info.id);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        const holder = this.read();
        if (holder && isStale(holder)) {
          this.#remove();
          events.staleTakenOver?.(holder);
          continue;
        }
        if (Date.now() >= deadline) throw lockedError(holder, timeoutMs);
        if (holder && !warnedWaiting) {
          events.waiting?.(holder);
          warnedWaiting = true;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(1, deadline - Date.now()))));
      }
    } finally {
      unlinkSync(temp);
    }
  }

  /**
   * The identity of the lock file as it is now (device, inode, size, change and
   * modification times), or undefined when there is none: one stat, no read. A
   * lock file is never rewritten in place, only removed and created anew (a
   * hard link of a fresh file), so an unchanged identity means an unchanged lock.
   */
  identity(): string | undefined {
    const stat = statSync(this.path, { throwIfNoEntry: false, bigint: true });
    return stat === undefined ? undefined : `${stat.dev}:${stat.ino}:${stat.size}:${stat.ctimeNs}:${stat.mtimeNs}`;
  }

  read(): LockInfo | undefined {
    if (!existsSync(this.path)) return undefined;
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.path, "utf8"));
      // A lock file missing its fields (`{}`, a truncated write) names no holder: never "undefined (pid undefined …)".
      return isLockInfo(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Removes the lock only if `id` is exactly its id. A lock whose process still
   * runs on this host is refused unless `force`: that coho is alive and would
   * stop (fenced) at its next write.
   */
  forceUnlock(id: string, options: { force?: boolean } = {}): LockInfo {
    const holder = this.read();
    if (!holder) throw new CohoError("state.not_locked", "the state is not locked");
    if (holder.id !== id) {
      throw new CohoError("state.lock_id_mismatch", `lock id ${id} does not match the current lock`, { hint: `the state is locked by ${describeLock(holder)}` });
    }
    if (!options.force && isAliveHere(holder)) {
      throw new CohoError("state.lock_alive", `the state is locked by a coho that is still running: ${describeLock(holder)}`, {
        hint: `wait for it to finish or stop it; to take the lock from it anyway (it then stops at its next write): coho force-unlock --force ${holder.id}`,
      });
    }
    this.#remove();
    return holder;
  }

  #release(id: string): void {
    if (this.read()?.id === id) this.#remove();
  }

  #remove(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** A lock whose process runs on this very host right now. */
function isAliveHere(holder: LockInfo): boolean {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A lock whose process is gone from this very host. Other hosts' locks are never guessed at. */
function isLockInfo(value: unknown): value is LockInfo {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return ["id", "operation", "who", "host", "created", "version"].every((k) => typeof v[k] === "string" && v[k] !== "") && typeof v.pid === "number";
}

export function isStale(holder: LockInfo): boolean {
  if (holder.host !== hostname() || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function lockedError(holder: LockInfo | undefined, timeoutMs: number): CohoError {
  const waited = timeoutMs > 0 ? ` (waited ${Math.round(timeoutMs / 1000)}s)` : "";
  if (!holder) return new CohoError("state.locked", `the state is locked and its lock file is unreadable or incomplete (it names no holder)${waited}`, { hint: "remove .coho/lock.json if no coho is running" });
  return new CohoError("state.locked", `the state is locked by ${describeLock(holder)}${waited}`, {
    hint: `wait for it to finish, retry with --lock-timeout 5m, or if it is stuck: coho force-unlock ${holder.id}`,
  });
}
