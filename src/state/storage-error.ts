import { CohoError } from "../model/errors.js";

/** What a failed state write means to the user, by errno. */
const REASONS: Readonly<Record<string, { code: string; text: string }>> = {
  ENOSPC: { code: "state.no_space", text: "no space left on device" },
  EDQUOT: { code: "state.no_space", text: "disk quota exceeded" },
  EFBIG: { code: "state.no_space", text: "file too large for the file system" },
  EACCES: { code: "state.permission", text: "permission denied" },
  EPERM: { code: "state.permission", text: "operation not permitted" },
  EROFS: { code: "state.permission", text: "read-only file system" },
  EIO: { code: "state.io", text: "input/output error" },
};

/** The errno of `error`, also when DuckDB only names it in its message text. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === "string" && code.startsWith("E")) return code;
  const text = error instanceof Error ? error.message : String(error);
  if (/no space left on device/i.test(text)) return "ENOSPC";
  if (/disk quota exceeded/i.test(text)) return "EDQUOT";
  if (/permission denied/i.test(text)) return "EACCES";
  if (/read-only file system/i.test(text)) return "EROFS";
  return undefined;
}

/**
 * A typed error for a state file that could not be written (journal, snapshot,
 * lockfile): names the file and the reason, never "internal error". `after`
 * says what coho did about it (for the journal: nothing unjournaled was sent).
 */
export function stateWriteError(what: string, path: string, error: unknown, after = "coho stopped before sending anything more"): CohoError {
  if (error instanceof CohoError) return error;
  const errno = errnoOf(error);
  const reason = errno ? REASONS[errno] : undefined;
  const detail = reason ? `${reason.text} (${errno})` : (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
  return new CohoError(reason?.code ?? "state.io", `cannot write ${what} (${path}): ${detail}; ${after}`, {
    hint: reason?.code === "state.permission"
      ? "give coho write access to the project folder and .coho/, then run coho apply again: it finishes the interrupted apply first"
      : "free space on the device holding the project, then run coho apply again: it finishes the interrupted apply first",
    cause: error,
  });
}

/** Whether an error must stop a whole apply at once (state can no longer be recorded). */
export function isStateFailure(error: unknown): boolean {
  return error instanceof CohoError && (error.code.startsWith("state.no_space") || error.code === "state.permission" || error.code === "state.io" || error.code === "state.lock_lost");
}
