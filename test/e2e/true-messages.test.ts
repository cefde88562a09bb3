import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { STACK_FRAME } from "../helpers/cli.js";
import { emulator } from "../helpers/emulator.js";
import { applyProject, coho, ids, writeMembers } from "../helpers/apply-project.js";
import { countryRows, setProjectFor, writeRows } from "../helpers/set-project.js";

function project(options: Parameters<typeof applyProject>[1] = {}): string {
  const dir = applyProject(emu, options);
  writeMembers(dir, "a", ids(5));
  writeMembers(dir, "b", ids(3, 50));
  return dir;
}

/** Messages that say what is true: each through the built binary. */
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await emulator();
});
afterAll(async () => emu.close());

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("an unreachable Braze", () => {
  it("fails fast naming the host and coho check, and the next apply finds nothing interrupted", async () => {
    const port = await closedPort();
    const dir = applyProject({ url: `http://127.0.0.1:${port}` } as RunningEmulator);
    writeMembers(dir, "a", ids(5));
    writeMembers(dir, "b", ids(3, 50));
    const started = Date.now();
    const first = await coho(dir, ["apply", "--auto-approve"]);
    const seconds = (Date.now() - started) / 1000;
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(`cannot reach destination braze at 127.0.0.1:${port}: connection refused; nothing was sent`);
    expect(first.stderr).toContain("coho check");
    expect(first.stderr).not.toMatch(STACK_FRAME);
    expect(first.stderr).not.toMatch(/retry|attempt/i);
    // Retries would take 13 s and more; the connection test answers at once (start-up and planning included).
    expect(seconds).toBeLessThan(8);
    const second = await coho(dir, ["apply", "--auto-approve"]);
    expect(second.code).toBe(1);
    expect(second.stderr + second.stdout).not.toMatch(/interrupted/i);
    const history = await coho(dir, ["history"]);
    expect(history.stdout).not.toContain("interrupted");
  }, 60_000);
});

describe("state files that are not what they seem", () => {
  it("a lock file of {} names no 'undefined' holder", async () => {
    const dir = project();
    mkdirSync(join(dir, ".coho"), { recursive: true });
    writeFileSync(join(dir, ".coho", "lock.json"), "{}");
    const result = await coho(dir, ["apply", "--auto-approve"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the state is locked and its lock file is unreadable or incomplete (it names no holder)");
    expect(result.stderr).toContain("remove .coho/lock.json if no coho is running");
    expect(result.stderr).not.toContain("undefined");
  });

  it("a FIFO where a snapshot should be is refused, not waited on", async () => {
    const dir = project();
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const snapshots = join(dir, ".coho", "snapshots");
    const file = readdirSync(snapshots).find((f) => f.endsWith(".parquet"))!;
    rmSync(join(snapshots, file));
    execFileSync("mkfifo", [join(snapshots, file)]);
    const started = Date.now();
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.stderr).toMatch(/the snapshot of cohorts\.(alpha|beta) is not a regular file \(\.coho\/snapshots\/.*\): something replaced it with a pipe, device or folder/);
  }, 60_000);
});

describe("the attribute road in its own words", () => {
  it("a rename is not 'in Braze' and a delete clears the attribute, with no empty cohort left listed", async () => {
    const dir = project({ road: "attributes" });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const yaml = readFileSync(join(dir, "coho.yaml"), "utf8").replace("name: Alpha", "name: Alpha renamed").replace(/  beta:\n(    .*\n)+/, "");
    writeFileSync(join(dir, "coho.yaml"), yaml);
    const plan = await coho(dir, ["plan"]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('renamed: "Alpha" → "Alpha renamed" (recorded in state only: Braze keeps no name for an attribute)');
    expect(plan.stdout).toContain("not in the configuration: the attribute is cleared on every member, then the cohort is forgotten");
    expect(plan.stdout).not.toMatch(/renamed in Braze|stays listed in Braze|adopt it again/);
  }, 60_000);
});

describe("guards that say how to pass them", () => {
  it("a blocked plan ends with the flag that overrides it, and --allow-removals names every guard it overrides", async () => {
    const dir = project({ guards: "    guards: { max_removals: 1 }\n" });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    writeMembers(dir, "a", ids(2));
    const plan = await coho(dir, ["plan"]);
    expect(plan.code).toBe(1);
    expect(plan.stdout.trimEnd().split("\n").slice(-2)).toEqual(["This plan cannot be applied.", "If these removals are intended, plan again with --allow-removals (it overrides max_removals)."]);
    const help = await coho(dir, ["plan", "--help"]);
    expect(help.stdout.replace(/\s+/g, " ")).toContain("override the removal guards: allow_empty, max_removals and max_deleted_instances (never prevent_destroy or max_array_values)");
  }, 60_000);

  it("max_deleted_instances as a percentage of a small set allows at least one deletion", async () => {
    const dir = await setProjectFor("local", emu, { extra: "    guards: { max_deleted_instances: 10% }\n" });
    const countries = ["DE", "FR", "IT", "ES", "NL", "PL"];
    writeRows(dir, countries.flatMap((c) => countryRows(c, 2)));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    writeRows(dir, countries.slice(1).flatMap((c) => countryRows(c, 2)));
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout).toBe(2);
    expect(plan.stdout).toContain("1 instance deletions within max_deleted_instances (10% of 6 = 1 (at least one))");
    // The set's summary adds up: 6 instances, 1 to delete and 5 unchanged.
    expect(plan.stdout).toContain("6 instances: 1 to delete, 5 unchanged");
  }, 60_000);
});
