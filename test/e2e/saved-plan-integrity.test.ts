import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { emulators, requestLog } from "../helpers/emulator.js";
import { applyProject, brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";

const start = emulators();
const serialOf = (dir: string) => (JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number }).serial;

describe("saved plans and the serial", () => {
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

/** Rewrites a saved plan's lines; `resign` recomputes the digest as a careful forger would. */
function editPlan(path: string, edit: (lines: string[]) => string[], resign: boolean): void {
  const lines = gunzipSync(readFileSync(path)).toString("utf8").split("\n").filter((l) => l !== "");
  const body = edit(lines.filter((l) => !l.startsWith('{"t":"digest"')));
  const trailer = resign
    ? JSON.stringify({ t: "digest", sha256: createHash("sha256").update(body.map((l) => `${l}\n`).join("")).digest("hex") })
    : lines.find((l) => l.startsWith('{"t":"digest"'))!;
  writeFileSync(path, gzipSync([...body, trailer].map((l) => `${l}\n`).join("")));
}

const editDelta = (op: "add" | "remove", change: (keys: string[]) => string[]) => (lines: string[]) =>
  lines.map((line, i) => {
    if (i === 0) return line;
    const chunk = JSON.parse(line) as { address: string; op: string; keys: string[] };
    return chunk.op === op && chunk.address === "cohorts.alpha" ? JSON.stringify({ ...chunk, keys: change(chunk.keys) }) : line;
  });

describe("saved plan integrity", () => {
  async function planned() {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(10));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    writeMembers(dir, "a", ids(8, 4));
    const path = join(dir, "p.coho");
    expect((await coho(dir, ["plan", "--out", path])).code).toBe(0);
    const sent = (await requestLog(emu)).length;
    return { emu, dir, path, sent };
  }

  async function expectRefused(ctx: Awaited<ReturnType<typeof planned>>, message: string): Promise<void> {
    const applied = await coho(ctx.dir, ["apply", ctx.path]);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain(message);
    expect(applied.stderr).not.toContain("internal error");
    // Nothing was journaled or sent, and the next apply is not wedged.
    expect(existsSync(join(ctx.dir, ".coho", "journal.jsonl"))).toBe(false);
    expect((await requestLog(ctx.emu)).length).toBe(ctx.sent);
    const fresh = await coho(ctx.dir, ["apply", "--auto-approve"]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect((await brazeByName(ctx.emu)).Alpha).toEqual(keysOf(ids(8, 4)));
  }

  it("refuses a file whose removals were edited (digest)", async () => {
    const ctx = await planned();
    expect((await coho(ctx.dir, ["show", ctx.path])).code).toBe(0);
    editPlan(ctx.path, editDelta("remove", (keys) => [...keys, "external_id:u00005"]), false);
    // show refuses it too: a reviewer is never shown a plan that apply would refuse.
    const shown = await coho(ctx.dir, ["show", ctx.path]);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain("was modified after coho plan wrote it");
    await expectRefused(ctx, "was modified after coho plan wrote it: its digest does not match its content");
  });

  it("refuses a file with a malformed key even when its digest was recomputed", async () => {
    const ctx = await planned();
    editPlan(ctx.path, editDelta("add", (keys) => [...keys.slice(1), "not-a-member-key"]), true);
    await expectRefused(ctx, 'cohorts.alpha: an addition "not-a-member-key" is not a member key; nothing was sent');
  });

  it("refuses keys of another identifier type, and deltas that disagree with the header's counts", async () => {
    const ctx = await planned();
    editPlan(ctx.path, editDelta("add", (keys) => [...keys.slice(1), "device_id:d-1"]), true);
    const wrongKind = await coho(ctx.dir, ["apply", ctx.path]);
    expect(wrongKind.stderr).toContain("is a device_id key, but the cohort's identifier is external_id");
    editPlan(ctx.path, editDelta("remove", (keys) => keys.slice(1)), true);
    editPlan(ctx.path, editDelta("add", (keys) => [...keys.slice(0, -1), "external_id:u00009"]), true);
    await expectRefused(ctx, "cohorts.alpha: the deltas hold +2 / −3 members but the plan says +2 / −4");
  });

  it("refuses a truncated file", async () => {
    const ctx = await planned();
    editPlan(ctx.path, (lines) => lines, false);
    const lines = gunzipSync(readFileSync(ctx.path)).toString("utf8").split("\n").filter((l) => l !== "");
    writeFileSync(ctx.path, gzipSync(lines.slice(0, -1).map((l) => `${l}\n`).join("")));
    await expectRefused(ctx, "has no digest: it is truncated, or was written by an older coho");
  });
});
