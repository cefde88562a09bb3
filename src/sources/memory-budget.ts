import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import { join } from "node:path";

/**
 * DuckDB's memory limit when nobody sets one: a share of the memory this process
 * may really use, which is the smaller of the machine's physical memory and the
 * limits of the control groups it runs in (a CI runner or container caps memory
 * with cgroups; os.totalmem() still reports the whole host). DuckDB spills to
 * disk beyond the limit, so a too-small limit costs time and a too-large one
 * gets the process killed.
 */
export interface MemoryBudget {
  /** For DuckDB's memory_limit, in whole MiB, e.g. "11980MiB". */
  readonly limit: string;
  readonly bytes: number;
  /** What bounded it: "physical memory", "cgroup v2 memory.max (/sys/fs/cgroup/…)", … */
  readonly boundedBy: string;
}

/**
 * The share of usable memory given to DuckDB's buffer manager. The rest is for
 * Node's heap, DuckDB's allocations outside its buffer manager (a 10M-member plan
 * keeps a few hundred MB there) and whatever else shares the cgroup.
 */
export const MEMORY_SHARE = 0.5;
/** Never below this, whatever the machine says: DuckDB cannot plan in less. */
const MIN_BYTES = 128 * 2 ** 20;
/** cgroup v1 writes "no limit" as a huge page-aligned number (2^63 − 4096); anything near it is no limit. */
const NO_LIMIT = 2 ** 60;

export interface MachineView {
  readonly totalMemory: number;
  /** A file's text, or undefined when it cannot be read (no cgroup, another layout). */
  readText(path: string): string | undefined;
  /** Where cgroup file systems are mounted (default /sys/fs/cgroup). */
  readonly cgroupRoot: string;
}

export const realMachine: MachineView = {
  totalMemory: totalmem(),
  readText: (path) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  cgroupRoot: "/sys/fs/cgroup",
};

export function machineMemoryBudget(machine: MachineView = realMachine): MemoryBudget {
  let bytes = machine.totalMemory;
  let boundedBy = "physical memory";
  for (const limit of cgroupLimits(machine)) {
    if (limit.bytes < bytes) {
      bytes = limit.bytes;
      boundedBy = limit.name;
    }
  }
  const share = Math.max(MIN_BYTES, Math.floor(bytes * MEMORY_SHARE));
  const mib = Math.floor(share / 2 ** 20);
  return { limit: `${mib}MiB`, bytes: mib * 2 ** 20, boundedBy };
}

interface Limit {
  readonly name: string;
  readonly bytes: number;
}

/**
 * Every memory limit on this process's cgroups and their ancestors (a parent's
 * limit bounds its children), as /proc/self/cgroup names them: cgroup v2
 * (`0::/path`: memory.max and memory.high) and v1 (`N:memory:/path`:
 * memory.limit_in_bytes). Inside a container with its own cgroup namespace the
 * path is `/`, and the files at the mount's root are the container's own.
 */
function cgroupLimits(machine: MachineView): Limit[] {
  const membership = machine.readText("/proc/self/cgroup") ?? "0::/\n";
  const limits: Limit[] = [];
  for (const line of membership.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    if (controllers === "") {
      for (const dir of ancestors(join(machine.cgroupRoot), path)) {
        for (const file of ["memory.max", "memory.high"]) limits.push(...readLimit(machine, join(dir, file), "cgroup v2"));
      }
    } else if (controllers!.split(",").includes("memory")) {
      for (const dir of ancestors(join(machine.cgroupRoot, "memory"), path)) limits.push(...readLimit(machine, join(dir, "memory.limit_in_bytes"), "cgroup v1"));
    }
  }
  return limits;
}

/** The cgroup folder of `path` under `root` and each parent up to the root itself. */
function ancestors(root: string, path: string): string[] {
  const parts = path.split("/").filter((part) => part !== "" && part !== "..");
  return parts.map((_, index) => join(root, ...parts.slice(0, parts.length - index))).concat(root);
}

function readLimit(machine: MachineView, file: string, kind: string): Limit[] {
  const text = machine.readText(file)?.trim();
  if (text === undefined || text === "max" || !/^\d+$/.test(text)) return [];
  const bytes = Number(text);
  return bytes > 0 && bytes < NO_LIMIT ? [{ name: `${kind} ${file.split("/").pop()} (${file})`, bytes }] : [];
}
