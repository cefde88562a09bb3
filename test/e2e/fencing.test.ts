import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COHO_BIN } from "../helpers/cli.js";
import { emulators, postJson, requestLog } from "../helpers/emulator.js";
import { BACKENDS, SECRET_ENV, applyProjectFor, brazeByName, coho, ids, keysOf, queryState, stateUrl, writeMembers } from "../helpers/apply-project.js";

const start = emulators();

function spawnApply(dir: string) {
  const url = stateUrl(dir);
  const child = spawn(process.execPath, [COHO_BIN, "-C", dir, "apply", "--auto-approve"], {
    env: { PATH: process.env.PATH ?? "", ...SECRET_ENV, NO_COLOR: "1", COHO_CONCURRENCY: "1", ...(url ? { COHO_STATE_URL: url } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return { pid: child.pid!, done: new Promise<{ code: number | null; stderr: string }>((resolve) => child.on("close", (code) => resolve({ code, stderr }))) };
}

const sent = async (emu: Parameters<typeof requestLog>[0]) => (await requestLog(emu)).filter((r) => r.path.endsWith("/users")).length;

async function lockId(dir: string): Promise<string | undefined> {
  const url = stateUrl(dir);
  if (!url) {
    const path = join(dir, ".coho", "lock.json");
    return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as { id: string }).id : undefined;
  }
  const rows = await queryState(url, "SELECT info->>'id' AS id FROM coho.lock_holder").catch(() => []);
  return rows[0]?.id;
}

describe.each(BACKENDS)("fencing after force-unlock (%s state)", (backend) => {
  it("the forced-out apply stops sending, writes no state, exits 1 saying so; the next apply converges", async () => {
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 250 });
    const dir = await applyProjectFor(backend, emu);
    writeMembers(dir, "a", ids(60_000));
    const victim = spawnApply(dir);
    while ((await sent(emu)) < 3) await new Promise((r) => setTimeout(r, 20));
    const id = (await lockId(dir))!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    if (backend === "local") {
      // The holder runs on this host: refused without --force, naming it.
      const refused = await coho(dir, ["force-unlock", id]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`the state is locked by a coho that is still running: `);
      expect(refused.stderr).toContain(`pid ${victim.pid}`);
      expect(refused.stderr).toContain(`coho force-unlock --force ${id}`);
    }
    const unlocked = await coho(dir, ["force-unlock", ...(backend === "local" ? ["--force"] : []), id]);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    const sentAtUnlock = await sent(emu);

    const result = await victim.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`this coho lost the state lock it held (lock id ${id})`);
    expect(result.stderr).toContain("no further request was sent and no state was written");
    // At most the one request in flight at the unlock finished; 60 were planned.
    expect(await sent(emu)).toBeLessThanOrEqual(sentAtUnlock + 1);
    // The forced-out apply wrote no state.
    expect(existsSync(join(dir, "coho.lock"))).toBe(false);

    const next = await coho(dir, ["apply", "--auto-approve"]);
    expect(next.code, next.stderr).toBe(0);
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(60_000)));
  }, 120_000);
});

describe.each(BACKENDS)("fencing covers retries (%s state)", (backend) => {
  it("an apply forced out while it waits on Retry-After sends no retry and no new batch afterwards", async () => {
    const emu = await start({ retryAfterSeconds: 3 });
    const dir = await applyProjectFor(backend, emu);
    writeMembers(dir, "a", ids(60_000));
    const victim = spawnApply(dir);
    while ((await sent(emu)) < 3) await new Promise((r) => setTimeout(r, 20));
    // From now on Braze answers 429 with Retry-After: 3; the apply waits to retry.
    await postJson(`${emu.url}/_emulator/config`, { fault_rate: 1, fault_kinds: ["429"] });
    while (!(await requestLog(emu)).some((r) => r.status === 429)) await new Promise((r) => setTimeout(r, 20));
    const id = (await lockId(dir))!;
    const unlocked = await coho(dir, ["force-unlock", ...(backend === "local" ? ["--force"] : []), id]);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    const seqAtUnlock = emu.log.total;
    await postJson(`${emu.url}/_emulator/config`, { fault_rate: 0 });

    const result = await victim.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`this coho lost the state lock it held (lock id ${id})`);
    expect(result.stderr).toContain("no further request was sent");
    // The message is true: once the lock was gone, not one request reached Braze — neither the retry nor a new batch.
    expect(emu.log.since(seqAtUnlock).map((r) => `${r.path} ${r.status}`)).toEqual([]);
    expect(existsSync(join(dir, "coho.lock"))).toBe(false);

    const next = await coho(dir, ["apply", "--auto-approve"]);
    expect(next.code, next.stderr).toBe(0);
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(60_000)));
  }, 120_000);
});
