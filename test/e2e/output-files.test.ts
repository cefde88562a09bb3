import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { STACK_FRAME, runCli } from "../helpers/cli.js";
import { dbtHeader, dbtProject } from "../helpers/dbt-project.js";
import { DESTINATION_YAML, EMULATOR_ENV, writeProject } from "../helpers/project.js";
import { CAN_MOUNT, fillDisk, mountSmallDisk } from "../helpers/small-disk.js";

/**
 * Every file a command writes (`plan --out`, `dbt exposures --out`, `history
 * --html`) is a regular file: a folder, FIFO or device is refused before any
 * work, left as it was, and no temporary file (holding member identifiers) is
 * left behind on any failure.
 */
const MEMBER = "member-canary-7f3a";
const mounts: (() => void)[] = [];
afterEach(() => {
  for (const unmount of mounts.splice(0)) unmount();
});

function project(): string {
  return writeProject({
    "coho.yaml": `version: 1
${DESTINATION_YAML}models:
  m:
    sql: select '${MEMBER}-' || md5(range::varchar) as user_id from range(5000)
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: user_id }
`,
  });
}

/** A folder, a FIFO and a character device (the numbers of /dev/full; root only) in a fresh folder. */
function targets(): { dir: string; kinds: [string, string, (path: string) => boolean][] } {
  const dir = writeProject({});
  mkdirSync(join(dir, "folder"));
  execFileSync("mkfifo", [join(dir, "fifo")]);
  const kinds: [string, string, (path: string) => boolean][] = [
    ["folder", "a folder", (p) => statSync(p).isDirectory()],
    ["fifo", "a FIFO", (p) => statSync(p).isFIFO()],
  ];
  if (CAN_MOUNT) {
    execFileSync("mknod", [join(dir, "full"), "c", "1", "7"]);
    kinds.push(["full", "a device", (p) => statSync(p).isCharacterDevice()]);
  }
  return { dir, kinds };
}

const entries = (dir: string) => readdirSync(dir).sort();

describe("files coho writes are regular files only", () => {
  it.each([
    ["plan --out", (dir: string, out: string) => ["-C", dir, "plan", "--out", out], project],
    ["dbt exposures --out", (dir: string, out: string) => ["-C", dir, "dbt", "exposures", "--out", out], () => dbtProject(`${dbtHeader("  owner: { name: Growth }\n")}models:\n  vip: { dbt: users_vip }\n`)],
    ["history --html", (dir: string, out: string) => ["-C", dir, "history", "--html", out], project],
  ])("%s refuses a folder, a FIFO and a device before any work, leaving each as it was and nothing beside it", async (_, args, make) => {
    const dir = make();
    const { dir: where, kinds } = targets();
    const before = entries(where);
    for (const [name, kind, still] of kinds) {
      const result = await runCli([...args(dir, join(where, name)), "--no-color"], { env: EMULATOR_ENV, timeoutMs: 20_000 });
      expect(result.signal, "must not wait on the FIFO").toBeNull();
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot write ${join(where, name)}: it is ${kind}, not a regular file`);
      expect(result.stderr).not.toMatch(STACK_FRAME);
      expect(result.stdout + result.stderr).not.toContain(MEMBER);
      expect(still(join(where, name))).toBe(true);
      expect(entries(where)).toEqual(before);
      expect(entries(join(where, "folder"))).toEqual([]);
    }
  });

  if (CAN_MOUNT) it("plan --out on a full disk fails cleanly and leaves no temporary file holding member identifiers", async () => {
    const disk = mountSmallDisk("4m");
    mounts.push(disk.unmount);
    const filler = fillDisk(disk.dir, 0);
    const dir = project();
    const out = join(disk.dir, "plan.bin");
    const result = await runCli(["-C", dir, "plan", "--out", out, "--no-color"], { env: EMULATOR_ENV });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("ENOSPC");
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(entries(disk.dir)).toEqual([filler.split("/").pop()]);
  });
});
