/**
 * Ordinary failures of the machine or the network — a full disk, a read-only
 * folder, a missing path, a database that went away — are not bugs in coho. They
 * arrive as Node or driver errors without a CohoError wrapper when they happen
 * deep in a library; this maps them to a message naming the path or host (never a
 * URL, which may hold a password) and a hint, instead of "internal error".
 */
export interface SystemFailure {
  readonly message: string;
  readonly hint: string;
}

interface ErrnoLike {
  readonly code?: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly dest?: string;
  readonly address?: string;
  readonly port?: number;
  readonly hostname?: string;
  readonly message?: string;
}

const FILE_ERRORS: Readonly<Record<string, [string, string]>> = {
  ENOSPC: ["no space left on the device", "free some space (or point TMPDIR elsewhere) and run again"],
  EDQUOT: ["the disk quota is exceeded", "free some space and run again"],
  EACCES: ["permission denied", "check the owner and mode of the path (ls -l), or run coho as a user who may write there"],
  EPERM: ["operation not permitted", "check the owner and mode of the path, and that no other program holds it"],
  EROFS: ["the file system is read-only", "run coho where the project folder is writable"],
  ENOENT: ["no such file or folder", "check the path; create the folder first if it is an output path"],
  ENOTDIR: ["a part of the path is not a folder", "check the path"],
  EISDIR: ["it is a folder, not a file", "give a file path"],
  EMFILE: ["too many open files", "raise the limit (ulimit -n) and run again"],
  EIO: ["an input/output error from the device", "check the disk"],
};

const NET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused (is the server running, on that port?)",
  ECONNRESET: "the connection was reset",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  ENOTFOUND: "the host name does not resolve",
  EAI_AGAIN: "the host name could not be resolved now",
};

export function describeSystemFailure(error: unknown): SystemFailure | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as ErrnoLike;
  const code = e.code ?? "";
  const file = FILE_ERRORS[code];
  if (file && (e.path !== undefined || e.syscall !== undefined)) {
    const where = e.path ? ` ${e.path}` : "";
    const verb = e.syscall ? `cannot ${e.syscall}${where}` : `file error${where}`;
    return { message: `${verb}: ${file[0]} (${code})`, hint: file[1] };
  }
  const net = NET_ERRORS[code];
  if (net) {
    const host = e.hostname ?? e.address;
    const target = host ? ` ${host}${e.port ? `:${e.port}` : ""}` : "";
    return { message: `cannot reach${target}: ${net} (${code})`, hint: "check the host and port in the configuration and that the service is up; nothing was changed by this failed connection" };
  }
  // PostgreSQL: class 08 (connection exception) and 57P0x (server shutting down).
  if (/^08|^57P0[1-3]$/.test(code) || /Connection terminated/i.test(e.message ?? "")) {
    return { message: `the connection to a PostgreSQL database was lost: ${firstLine(e.message)}`, hint: "run the command again once the database is back; state only advances by acknowledged batches, so nothing is lost" };
  }
  return undefined;
}

function firstLine(text: string | undefined): string {
  return (text ?? "").split("\n")[0]!.slice(0, 300);
}
