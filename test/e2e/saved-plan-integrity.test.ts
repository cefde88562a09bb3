import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators } from "../helpers/emulator.js";
import { applyProject, brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";

const start = emulators();
const serialOf = (dir: string) => (JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number }).serial;

describe("saved plans and the serial (issue 15 item 4)", () => {
  it("stay valid after a comment-only or formatting edit of coho.yaml", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(5));
    const planFile = join(dir, "p.coho");
    expect((await coho(dir, ["plan", "--out", planFile])).code).toBe(0);
    const yaml = readFileSync(join(dir, "coho.yaml"), "utf8");
    writeFileSync(join(dir, "coho.yaml"), `# reviewed in PR #12\n${yaml.replace("cohorts:\n", "\n\ncohorts:   # the audiences\n")}`);
    const applied = await coho(dir, ["apply", planFile]);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(5)));
  });

  it("are refused when a resolved value changed, such as the endpoint taken from the environment", async () => {
    const emu = await start();
    const other = await start();
    const dir = applyProject(emu);
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace(`rest_endpoint: ${emu.url}`, "rest_endpoint: ${env:BRAZE_URL}"));
    writeMembers(dir, "a", ids(5));
    const planFile = join(dir, "p.coho");
    expect((await coho(dir, ["plan", "--out", planFile], { BRAZE_URL: emu.url })).code).toBe(0);
    const applied = await coho(dir, ["apply", planFile], { BRAZE_URL: other.url });
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain("the configuration changed since the plan was made");
    expect(await brazeByName(other)).toEqual({});
  });

  it("a failed apply that changed nothing keeps the serial", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(5));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const serial = serialOf(dir);
    writeMembers(dir, "a", ids(9));
    const failed = await coho(dir, ["apply", "--auto-approve"], { BRAZE_DATA_IMPORT_KEY: "wrong-key" });
    expect(failed.code).toBe(1);
    expect(serialOf(dir)).toBe(serial);
    const again = await coho(dir, ["apply", "--auto-approve"], { BRAZE_DATA_IMPORT_KEY: "wrong-key" });
    expect(again.code).toBe(1);
    expect(serialOf(dir)).toBe(serial);
    // Once the key is right, the interrupted work is finished and recorded: one write.
    const fixed = await coho(dir, ["apply", "--auto-approve"]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(9)));
  });
});
