import { describe, expect, it } from "vitest";
import { machineMemoryBudget, type MachineView } from "../../src/sources/memory-budget.js";

const GiB = 2 ** 30;

/** A machine with `totalMemory` of RAM and these files (cgroup files under /cg). */
function machine(totalMemory: number, files: Record<string, string>): MachineView {
  return { totalMemory, cgroupRoot: "/cg", readText: (path) => files[path] };
}

describe("DuckDB's default memory limit follows the machine", () => {
  it("is half of physical memory when no cgroup limits it", () => {
    const budget = machineMemoryBudget(machine(16 * GiB, { "/proc/self/cgroup": "0::/\n", "/cg/memory.max": "max\n" }));
    expect(budget).toEqual({ limit: "8192MiB", bytes: 8 * GiB, boundedBy: "physical memory" });
  });

  it("is half of a cgroup v2 memory.max set on the process's own cgroup (a CI runner's container)", () => {
    const budget = machineMemoryBudget(
      machine(64 * GiB, {
        "/proc/self/cgroup": "0::/runner/job-7\n",
        "/cg/runner/job-7/memory.max": `${4 * GiB}\n`,
        "/cg/runner/job-7/memory.high": "max\n",
        "/cg/memory.max": "max\n",
      }),
    );
    expect(budget.limit).toBe("2048MiB");
    expect(budget.boundedBy).toBe("cgroup v2 memory.max (/cg/runner/job-7/memory.max)");
  });

  it("takes the smallest limit of the cgroup's ancestors and memory.high", () => {
    const budget = machineMemoryBudget(
      machine(64 * GiB, {
        "/proc/self/cgroup": "0::/a/b\n",
        "/cg/a/b/memory.max": `${8 * GiB}`,
        "/cg/a/memory.max": `${6 * GiB}`,
        "/cg/a/memory.high": `${3 * GiB}`,
      }),
    );
    expect(budget).toEqual({ limit: "1536MiB", bytes: 1.5 * GiB, boundedBy: "cgroup v2 memory.high (/cg/a/memory.high)" });
  });

  it("reads cgroup v1's memory.limit_in_bytes and ignores its 'no limit' value", () => {
    const v1 = "12:pids:/\n4:memory:/docker/abc\n1:cpu,cpuacct:/\n0::/\n";
    const limited = machineMemoryBudget(machine(32 * GiB, { "/proc/self/cgroup": v1, "/cg/memory/docker/abc/memory.limit_in_bytes": `${2 * GiB}` }));
    expect(limited).toEqual({ limit: "1024MiB", bytes: GiB, boundedBy: "cgroup v1 memory.limit_in_bytes (/cg/memory/docker/abc/memory.limit_in_bytes)" });
    const unlimited = machineMemoryBudget(machine(32 * GiB, { "/proc/self/cgroup": v1, "/cg/memory/docker/abc/memory.limit_in_bytes": "9223372036854771712" }));
    expect(unlimited.boundedBy).toBe("physical memory");
  });

  it("a container with its own cgroup namespace: the limit at the mount's root applies", () => {
    const budget = machineMemoryBudget(machine(32 * GiB, { "/proc/self/cgroup": "0::/\n", "/cg/memory.max": `${1 * GiB}` }));
    expect(budget.limit).toBe("512MiB");
  });

  it("physical memory when /proc/self/cgroup cannot be read; never below 128 MiB", () => {
    expect(machineMemoryBudget(machine(2 * GiB, {})).limit).toBe("1024MiB");
    expect(machineMemoryBudget(machine(64 * 2 ** 20, {})).limit).toBe("128MiB");
  });
});
