import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators, postJson, requestLog, userAttributes } from "../helpers/emulator.js";
import { BACKENDS, applyProjectFor, coho, ids, writeMembers } from "../helpers/apply-project.js";

const start = emulators();

describe.each(BACKENDS)("repair: plan --refresh-from-braze turns read-back drift into planned changes (%s state)", (backend) => {
  it("plans the drifted members' additions again, and the next apply of that plan repairs them", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road: "attributes" });
    writeMembers(dir, "a", ids(10));
    writeMembers(dir, "b", ids(4, 100));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // Someone else writes coho_alpha of u00003; u00101 loses coho's array value.
    const plant = (key: string, custom: Record<string, unknown>) => postJson(`${emu.url}/_emulator/users/${encodeURIComponent(key)}`, { custom_attributes: custom });
    await plant("external_id:u00003", { coho_alpha: false });
    await plant("external_id:u00101", { coho_cohorts: null });
    // State still says everyone is in: an ordinary plan sees nothing.
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    const before = emu.log.total;
    const planned = await coho(dir, ["plan", "--refresh-from-braze", "--detailed-exitcode"]);
    expect(planned.code, planned.stdout + planned.stderr).toBe(2);
    expect(planned.stdout).toContain("--refresh-from-braze: 1 of 10 recorded member(s) read back no longer hold what coho wrote (changed 1, absent in Braze 0, evicted 0)");
    expect(planned.stdout).toContain("--refresh-from-braze: 1 of 4 recorded member(s) read back");
    // Planning only read Braze.
    expect((await requestLog(emu)).filter((r) => r.seq > before).every((r) => r.path === "/users/export/ids")).toBe(true);

    const file = join(dir, "repair.coho");
    expect((await coho(dir, ["plan", "--refresh-from-braze", "--sample", "50", "--out", file])).code).toBe(0);
    const applied = await coho(dir, ["apply", file]);
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    expect((await userAttributes(emu, "external_id:u00003")).custom_attributes).toEqual({ coho_alpha: true });
    expect((await userAttributes(emu, "external_id:u00101")).custom_attributes).toEqual({ coho_cohorts: ["beta"] });
    const verified = await coho(dir, ["verify"]);
    expect(verified.code, verified.stdout).toBe(0);
    expect((await coho(dir, ["plan", "--refresh-from-braze", "--detailed-exitcode"])).code).toBe(0);
  }, 240_000);
});

describe("coho plan --sample", () => {
  it("belongs to --refresh-from-braze", async () => {
    const emu = await start();
    const dir = await applyProjectFor("local", emu, { road: "attributes" });
    const result = await coho(dir, ["plan", "--sample", "5"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--sample goes with --refresh-from-braze");
  });
});
