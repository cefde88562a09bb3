import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { COHO_BIN } from "../helpers/cli.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { SECRET_ENV, applyProject, brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";
import { CAN_MOUNT, fillDisk, mountSmallDisk } from "../helpers/small-disk.js";

const start = emulators();
const mounts: (() => void)[] = [];
afterEach(() => {
  for (const unmount of mounts.splice(0)) unmount();
});

function spawnApply(dir: string) {
  const child = spawn(process.execPath, [COHO_BIN, "-C", dir, "apply", "--auto-approve"], {
    env: { PATH: process.env.PATH ?? "", ...SECRET_ENV, NO_COLOR: "1", COHO_CONCURRENCY: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise<{ code: number | null; stderr: string }>((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

const membershipRequests = async (emu: Parameters<typeof requestLog>[0]) => (await requestLog(emu)).filter((r) => r.path.endsWith("/users"));

async function waitForRequests(emu: Parameters<typeof requestLog>[0], atLeast: number): Promise<void> {
  while ((await membershipRequests(emu)).length < atLeast) await new Promise((r) => setTimeout(r, 20));
}

/** Membership batches with a complete record in the journal. */
function journaledBatches(dir: string): number {
  const path = join(dir, ".coho", "journal.jsonl");
  if (!existsSync(path)) return 0;
  return readFileSync(path, "utf8").split("\n").filter((line) => line.startsWith('{"t":"batch"')).length;
}

function expectCleanFailure(result: { code: number | null; stderr: string }): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toContain("no space left on device (ENOSPC)");
  expect(result.stderr).toContain("free space on the device");
  expect(result.stderr).not.toContain("internal error");
}

// A real size-limited file system needs root (mount); without it the journal's short-write
// handling is covered by test/integration/journal-durability.test.ts through its write hook.
if (CAN_MOUNT) describe("apply on a full disk (real tmpfs)", () => {
  it("stops before sending what it cannot journal, at several points, and loses no member once space is freed", async () => {
    const disk = mountSmallDisk("16m");
    mounts.push(disk.unmount);
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 60 });
    const dir = join(disk.dir, "project");
    cpSync(applyProject(emu), dir, { recursive: true });
    writeMembers(dir, "a", ids(8000));
    writeMembers(dir, "b", ids(2000, 50_000));

    // 1. Full before the apply starts: nothing is sent at all.
    let filler = fillDisk(disk.dir);
    expectCleanFailure(await coho(dir, ["apply", "--auto-approve"]));
    expect(await requestLog(emu)).toHaveLength(0);
    rmSync(filler);

    // 2. Full in the middle of adding members.
    const adding = spawnApply(dir);
    await waitForRequests(emu, 3);
    filler = fillDisk(disk.dir);
    expectCleanFailure(await adding);
    // Every membership request Braze received has a complete journal record.
    expect((await membershipRequests(emu)).length).toBeLessThanOrEqual(journaledBatches(dir));
    rmSync(filler);
    const resumed = await coho(dir, ["apply", "--auto-approve"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await brazeByName(emu)).toEqual({ Alpha: keysOf(ids(8000)), Beta: keysOf(ids(2000, 50_000)) });

    // 3. Full in the middle of removing half of a cohort (the reported case).
    writeMembers(dir, "a", ids(4000));
    const sentBefore = (await membershipRequests(emu)).length;
    const removing = spawnApply(dir);
    await waitForRequests(emu, sentBefore + 1);
    filler = fillDisk(disk.dir);
    expectCleanFailure(await removing);
    rmSync(filler);
    const finished = await coho(dir, ["apply", "--auto-approve"]);
    expect(finished.code, finished.stderr).toBe(0);
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(4000)));
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout).toBe(0);
    // No temporary file of a failed write survives.
    const leftovers = [dir, join(dir, ".coho"), join(dir, ".coho", "snapshots")].flatMap((d) => readdirSync(d).filter((n) => n.endsWith(".tmp")));
    expect(leftovers).toEqual([]);
  }, 180_000);
});
