import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import type { LockfileDoc } from "../../src/model/state.js";
import { STACK_FRAME } from "../helpers/cli.js";
import { emulator } from "../helpers/emulator.js";
import { applyProject, coho, ids, writeMembers } from "../helpers/apply-project.js";

/**
 * Local state records the SHA-256 of every snapshot file coho writes
 * (`snapshot_sha256` in coho.lock), and readers skip the per-member digest when
 * the file still holds those bytes. Every write path records it; a changed file is
 * still refused by the member digest; a lockfile without it still verifies.
 */
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as LockfileDoc;
const fileHash = (dir: string, snapshot: string) => createHash("sha256").update(readFileSync(join(dir, snapshot))).digest("hex");

/** Every cohort's recorded hash is the hash of its file's bytes. */
function expectHashesRecorded(dir: string): void {
  const cohorts = Object.values(lockOf(dir).cohorts);
  expect(cohorts.length).toBeGreaterThan(0);
  for (const entry of cohorts) expect(entry.snapshot_sha256).toBe(fileHash(dir, entry.snapshot));
}

/** Rewrites a snapshot file with `keys`, through DuckDB (a valid Parquet file), with a codec of choice. */
async function rewriteSnapshot(path: string, keys: readonly string[], codec: "zstd" | "snappy"): Promise<void> {
  const db = await DuckDBInstance.create(":memory:");
  const connection = await db.connect();
  const values = keys.map((k) => `('${k}')`).join(", ");
  await connection.run(`COPY (SELECT key FROM (VALUES ${values}) AS v(key) ORDER BY key) TO '${path}' (FORMAT parquet, COMPRESSION ${codec})`);
  connection.closeSync();
  db.closeSync();
}

const keys = (list: readonly string[]) => list.map((id) => `external_id:${id}`);

describe("snapshot file hashes (local state)", () => {
  let emu: RunningEmulator;
  let dir: string;
  beforeAll(async () => {
    emu = await emulator();
    dir = applyProject(emu);
  });
  afterAll(async () => emu.close());

  it("every apply records each written file's hash: both cohorts folded together, then one alone", async () => {
    writeMembers(dir, "a", ids(30));
    writeMembers(dir, "b", ids(20, 100));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expectHashesRecorded(dir);
    const first = lockOf(dir);

    // Both change: one fold reads both recorded snapshots in one scan (verified by hash) and writes both.
    writeMembers(dir, "a", ids(31));
    writeMembers(dir, "b", ids(19, 100));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expectHashesRecorded(dir);
    // Only alpha changes: its snapshot is folded alone.
    writeMembers(dir, "a", ids(25));
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code).toBe(0);
    expectHashesRecorded(dir);
    const now = lockOf(dir);
    expect(now.cohorts["cohorts.alpha"]!.snapshot_sha256).not.toBe(first.cohorts["cohorts.alpha"]!.snapshot_sha256);
    expect(now.cohorts["cohorts.alpha"]!.members.count).toBe(25);

    const plan = await coho(dir, ["plan", "--json"]);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout).summary).toMatchObject({ members_add: 0, members_remove: 0 });
  });

  it("a snapshot file holding other members is refused by the member digest, naming the cohort; state is untouched", async () => {
    const lockText = readFileSync(join(dir, "coho.lock"), "utf8");
    const entry = lockOf(dir).cohorts["cohorts.alpha"]!;
    const path = join(dir, entry.snapshot);
    const original = readFileSync(path);
    try {
      await rewriteSnapshot(path, keys(ids(24)), "zstd");
      for (const args of [["plan"], ["apply", "--auto-approve"]]) {
        const result = await coho(dir, args);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain("the snapshot of cohorts.alpha does not match coho.lock: expected 25 members");
        expect(result.stderr).toContain("found 24");
        expect(result.stderr).not.toMatch(STACK_FRAME);
      }
      expect(readFileSync(join(dir, "coho.lock"), "utf8")).toBe(lockText);
    } finally {
      writeFileSync(path, original);
    }
  });

  it("a file re-encoded with the same members (other bytes) still loads: the member digest is the check of record", async () => {
    const entry = lockOf(dir).cohorts["cohorts.alpha"]!;
    const path = join(dir, entry.snapshot);
    const original = readFileSync(path);
    try {
      await rewriteSnapshot(path, keys(ids(25)), "snappy");
      expect(fileHash(dir, entry.snapshot)).not.toBe(entry.snapshot_sha256);
      const plan = await coho(dir, ["plan", "--json"]);
      expect(plan.code).toBe(0);
      expect(JSON.parse(plan.stdout).summary).toMatchObject({ members_add: 0, members_remove: 0 });
    } finally {
      writeFileSync(path, original);
    }
  });

  it("a lockfile without file hashes (an older coho) verifies by member digest, and the next write of a cohort records its hash", async () => {
    const lock = lockOf(dir);
    const stripped: LockfileDoc = {
      ...lock,
      cohorts: Object.fromEntries(Object.entries(lock.cohorts).map(([address, { snapshot_sha256: _hash, ...entry }]) => [address, entry])),
    };
    writeFileSync(join(dir, "coho.lock"), `${JSON.stringify(stripped, null, 2)}\n`);
    const plan = await coho(dir, ["plan", "--json"]);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout).summary).toMatchObject({ members_add: 0, members_remove: 0 });

    const alpha = stripped.cohorts["cohorts.alpha"]!;
    const path = join(dir, alpha.snapshot);
    const original = readFileSync(path);
    await rewriteSnapshot(path, keys(ids(26)), "zstd");
    const refused = await coho(dir, ["plan"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("the snapshot of cohorts.alpha does not match coho.lock: expected 25 members");
    writeFileSync(path, original);

    // An apply Braze acknowledges nothing of rewrites alpha's snapshot with the same members:
    // that is no change of state, so coho.lock stays byte for byte (no serial bump, no hash added).
    writeMembers(dir, "a", ids(27));
    const unchanged = readFileSync(join(dir, "coho.lock"), "utf8");
    await fetch(`${emu.url}/_emulator/config`, { method: "POST", body: JSON.stringify({ locked: true }) });
    const failed = await coho(dir, ["apply", "--auto-approve"], { COHO_RETRY_MAX_ATTEMPTS: "2" });
    await fetch(`${emu.url}/_emulator/config`, { method: "POST", body: JSON.stringify({ locked: false }) });
    expect(failed.code).toBe(1);
    expect(readFileSync(join(dir, "coho.lock"), "utf8")).toBe(unchanged);

    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const after = lockOf(dir);
    expect(after.cohorts["cohorts.alpha"]!.snapshot_sha256).toBe(fileHash(dir, after.cohorts["cohorts.alpha"]!.snapshot));
    // Beta was not written: its entry stays as the older coho left it.
    expect(after.cohorts["cohorts.beta"]!.snapshot_sha256).toBeUndefined();
  });

  it("state rm keeps the other cohorts' hashes, and they still verify", async () => {
    expect((await coho(dir, ["state", "rm", "cohorts.beta"])).code).toBe(0);
    expectHashesRecorded(dir);
    expect(Object.keys(lockOf(dir).cohorts)).toEqual(["cohorts.alpha"]);
    const plan = await coho(dir, ["plan"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("+ cohorts.beta (create)");
  });
});
