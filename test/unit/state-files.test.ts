import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CohoError } from "../../src/model/errors.js";
import type { LockfileDoc } from "../../src/model/state.js";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { loadSnapshots } from "../../src/state/load-snapshots.js";
import { LocalBackend } from "../../src/state/local-backend.js";
import { snapshotFields } from "../../src/state/snapshot-record.js";
import { readLockfile, serializeLockfile } from "../../src/state/lockfile.js";
import { digestFromRow, formatDigest, memberDigest, memberDigestByGroupSql, memberDigestSql } from "../../src/state/member-digest.js";

const doc: LockfileDoc = {
  format: "coho-lock",
  version: 1,
  lineage: "7d6f2c1e-0000-4000-8000-000000000000",
  serial: 4,
  cohorts: {
    "cohorts.b": {
      snapshot: ".coho/snapshots/b.parquet",
      name: "B",
      destination: "braze",
      cohort_id: "coho-b-1",
      identifier: { type: "alias", name: "email", column: "email", label: "email" },
      model: { name: "m", sql_digest: `sha256:${"a".repeat(64)}`, sql: "select 1\n" },
      prevent_destroy: true,
      members: { count: 2, digest: `v1:2:${"f".repeat(32)}` },
      applied_at: "2026-11-01T00:00:00.000Z",
    },
  },
};

describe("coho.lock", () => {
  it("serializes deterministically: sorted keys, two spaces, final newline", () => {
    const text = serializeLockfile(doc);
    expect(text.endsWith("}\n")).toBe(true);
    expect(text).toContain('\n  "cohorts": {\n    "cohorts.b": {\n      "applied_at"');
    const keys = Object.keys(JSON.parse(text).cohorts["cohorts.b"]);
    expect(keys).toEqual([...keys].sort());
    const shuffled = JSON.parse(JSON.stringify({ serial: doc.serial, cohorts: doc.cohorts, version: 1, lineage: doc.lineage, format: "coho-lock" })) as LockfileDoc;
    expect(serializeLockfile(shuffled)).toBe(text);
  });

  it("round-trips through a file", () => {
    const path = join(mkdtempSync(join(tmpdir(), "coho-lock-")), "coho.lock");
    writeFileSync(path, serializeLockfile(doc));
    expect(readLockfile(path)).toEqual(doc);
  });

  const broken: [string, string, string][] = [
    ["truncated", serializeLockfile(doc).slice(0, 200), "coho.lock is not valid JSON"],
    ["not a lockfile", '{"hello": 1}', 'coho.lock is not a coho lockfile (format is not "coho-lock")'],
    ["future version", JSON.stringify({ ...doc, version: 2 }), "coho.lock has format version 2, written by a newer coho; this coho reads version 1"],
    ["hand-mangled", JSON.stringify({ ...doc, serial: "four" }), "coho.lock is damaged: /serial must be integer"],
    ["bad digest", JSON.stringify({ ...doc, cohorts: { "cohorts.b": { ...doc.cohorts["cohorts.b"], members: { count: 1, digest: "x" } } } }), "coho.lock is damaged: /cohorts/cohorts.b/members/digest"],
  ];
  it.each(broken)("%s: one clear error, file untouched", (_, text, message) => {
    const path = join(mkdtempSync(join(tmpdir(), "coho-lock-")), "coho.lock");
    writeFileSync(path, text);
    let error: unknown;
    try {
      readLockfile(path);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CohoError);
    expect((error as CohoError).message).toContain(message);
    expect((error as CohoError).hint ?? "").toMatch(/restore it from git|upgrade coho/);
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});

describe("coho.lock edited by hand", () => {
  const write = (edit: (d: any) => void): { dir: string; path: string; text: string } => {
    const dir = mkdtempSync(join(tmpdir(), "coho-lock-"));
    const copy = JSON.parse(JSON.stringify(doc));
    edit(copy);
    const text = serializeLockfile(copy);
    writeFileSync(join(dir, "coho.lock"), text);
    return { dir, path: join(dir, "coho.lock"), text };
  };
  const failure = async (work: () => unknown): Promise<CohoError> => {
    try {
      await work();
    } catch (error) {
      return error as CohoError;
    }
    throw new Error("expected a failure");
  };

  it("refuses a members.count that disagrees with the digest, pointing at the count", async () => {
    const { path, text } = write((d) => (d.cohorts["cohorts.b"].members.count = 3));
    const error = await failure(() => readLockfile(path));
    expect(error).toBeInstanceOf(CohoError);
    expect(error.code).toBe("state.lockfile_edited");
    const line = text.split("\n").findIndex((l) => l.includes('"count": 3')) + 1;
    expect(error.message).toBe(`coho.lock:${line}:18: cohorts.b: members.count is 3 but its digest was computed over 2 members: the lockfile was edited by hand`);
    expect(error.location).toMatchObject({ file: path, line, column: 18 });
    expect(readFileSync(path, "utf8")).toBe(text);
  });

  it.each([
    ["a parent folder", "../../etc/passwd"],
    ["an absolute path", "/etc/passwd"],
    ["another project folder", "data/members.parquet"],
    ["the .coho folder itself", ".coho"],
  ])("refuses a snapshot path leading to %s (local state)", async (_, snapshot) => {
    const { dir, path } = write((d) => (d.cohorts["cohorts.b"].snapshot = snapshot));
    const error = await failure(() => new LocalBackend(dir).read());
    expect(error.code).toBe("state.lockfile_edited");
    expect(error.message).toMatch(new RegExp(`^coho\\.lock:\\d+:\\d+: cohorts\\.b: snapshot ".*" is outside \\.coho/`));
    expect(error.location?.file).toBe(path);
  });

  it("accepts the snapshot paths coho writes", async () => {
    const { dir } = write(() => undefined);
    expect((await new LocalBackend(dir).read()).serial).toBe(4);
  });
});

describe("member digest", () => {
  it("is order-independent and matches a fixed vector", () => {
    const keys = ["external_id:u1", "alias:email:a@b.c", "device_id:d-1"];
    expect(memberDigest(keys)).toBe(memberDigest([...keys].reverse()));
    expect(memberDigest([])).toBe(`v1:0:${"0".repeat(32)}`);
    // MD5("external_id:u1") = 9cfe876fba7b6bcc f29583fdb3d292e9
    expect(memberDigest(["external_id:u1"])).toBe("v1:1:9cfe876fba7b6bccf29583fdb3d292e9");
    expect(memberDigest(["external_id:u1"])).not.toBe(memberDigest(["external_id:u2"]));
  });

  it("is computed identically by DuckDB, with wrap-around at 2^64", async () => {
    const engine = await DuckDbEngine.create({ projectDir: mkdtempSync(join(tmpdir(), "coho-digest-")) });
    try {
      const keys = Array.from({ length: 5000 }, (_, i) => (i % 2 ? `external_id:${i}` : `alias:email:${i}@x.io`)).concat(["device_id:ünï©ødé"]);
      await engine.connection.run("CREATE TABLE memory.main.k (key VARCHAR)");
      const appender = await engine.connection.createAppender("k", "main", "memory");
      for (const key of keys) {
        appender.appendVarchar(key);
        appender.endRow();
      }
      appender.closeSync();
      const row = (await engine.connection.runAndReadAll(memberDigestSql("SELECT key FROM memory.main.k"))).getRows()[0]!;
      expect(digestFromRow(row)).toBe(memberDigest(keys));
      // The empty set, through the same SQL.
      const none = (await engine.connection.runAndReadAll(memberDigestSql("SELECT key FROM memory.main.k WHERE false"))).getRows()[0]!;
      expect(digestFromRow(none)).toBe(memberDigest([]));
      // Per group (snapshots of many cohorts verified in one scan): each group's digest is its keys' digest.
      await engine.connection.run("CREATE TABLE memory.main.g AS SELECT (row_number() OVER () % 3)::INTEGER AS slot, key FROM memory.main.k");
      const grouped = await engine.connection.runAndReadAll(memberDigestByGroupSql("SELECT slot, key FROM memory.main.g", "slot"));
      const bySlot = new Map(grouped.getRows().map(([g, n, hi, lo]) => [Number(g), formatDigest(Number(n), BigInt(String(hi)), BigInt(String(lo)))]));
      const slotted = (await engine.connection.runAndReadAll("SELECT slot, key FROM memory.main.g")).getRows();
      expect(bySlot.size).toBe(3);
      for (const slot of [0, 1, 2]) {
        expect(bySlot.get(slot)).toBe(memberDigest(slotted.filter(([g]) => Number(g) === slot).map(([, key]) => String(key))));
      }
    } finally {
      await engine.close();
    }
  });
});

describe("snapshots", () => {
  let engine: DuckDbEngine;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "coho-snap-"));
    engine = await DuckDbEngine.create({ projectDir: dir });
    await engine.connection.run("CREATE TABLE memory.main.members AS SELECT 'external_id:' || range AS key FROM range(1000)");
  });
  afterAll(async () => engine.close());

  it("are verified by digest when read: a swapped or missing snapshot is an error saying how to recover", async () => {
    const backend = new LocalBackend(dir);
    const saved = await backend.saveSnapshot(engine, "c1", "SELECT key FROM memory.main.members");
    expect(saved.count).toBe(1000);
    const table = await backend.loadSnapshot(engine, "cohorts.a", saved);
    expect(Number((await engine.connection.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0]![0])).toBe(1000);

    await engine.connection.run("CREATE TABLE memory.main.fewer AS SELECT key FROM memory.main.members LIMIT 999");
    const other = await backend.saveSnapshot(engine, "c1", "SELECT key FROM memory.main.fewer");
    // The lock expects `saved` (its bytes' hash and its members), the file holds `other`.
    const mismatch = await backend.loadSnapshot(engine, "cohorts.a", { ...saved, snapshot: other.snapshot }).catch((e: unknown) => e);
    expect((mismatch as CohoError).message).toContain("the snapshot of cohorts.a does not match coho.lock: expected 1000 members");
    expect((mismatch as CohoError).message).toContain("found 999");
    expect((mismatch as CohoError).hint).toContain("coho state rm cohorts.a");

    const missing = await backend.loadSnapshot(engine, "cohorts.a", { ...saved, snapshot: ".coho/snapshots/nope.parquet" }).catch((e: unknown) => e);
    expect((missing as CohoError).code).toBe("state.snapshot_missing");

    writeFileSync(join(dir, saved.snapshot), "garbage");
    const corrupt = await backend.loadSnapshot(engine, "cohorts.a", saved).catch((e: unknown) => e);
    expect((corrupt as CohoError).code).toBe("state.snapshot_corrupt");
  });

  it("record the SHA-256 of the written file's bytes; a file with those bytes is trusted without recomputing the member digest", async () => {
    const backend = new LocalBackend(dir);
    const saved = await backend.saveSnapshot(engine, "c2", "SELECT key FROM memory.main.members WHERE key < 'external_id:5'");
    expect(saved.sha256).toBe(createHash("sha256").update(readFileSync(join(dir, saved.snapshot))).digest("hex"));
    expect(snapshotFields(saved)).toEqual({ members: { count: saved.count, digest: saved.digest }, snapshot: saved.snapshot, snapshot_sha256: saved.sha256 });
    // A digest that cannot be right beside the right hash: the hash decides, the members are not digested.
    const wrongDigest = { ...saved, digest: formatDigest(saved.count, 0n, 0n) };
    const table = await backend.loadSnapshot(engine, "cohorts.a", wrongDigest);
    expect(Number((await engine.connection.runAndReadAll(`SELECT count(*) FROM ${table}`)).getRows()[0]![0])).toBe(saved.count);
    const grouped = await loadSnapshots(engine, backend, [{ slot: 1, address: "cohorts.a", expected: wrongDigest }]);
    expect(Number((await engine.connection.runAndReadAll(`SELECT count(*) FROM ${grouped}`)).getRows()[0]![0])).toBe(saved.count);
    // Without the hash (a lockfile of an older coho) the same wrong digest is refused.
    const { sha256: _hash, ...older } = wrongDigest;
    const refused = await backend.loadSnapshot(engine, "cohorts.a", older).catch((e: unknown) => e);
    expect((refused as CohoError).code).toBe("state.snapshot_mismatch");
  });

  it("loaded together, are each verified by hash or by digest, and a changed file is named", async () => {
    const backend = new LocalBackend(dir);
    const save = (id: string, upTo: number) => backend.saveSnapshot(engine, id, `SELECT key FROM memory.main.members WHERE CAST(split_part(key, ':', 2) AS INTEGER) < ${upTo}`);
    const hashed = await save("h", 100);
    const { sha256: _hash, ...older } = await save("o", 200);
    const changed = await save("x", 300);
    const requests = [
      { slot: 0, address: "cohorts.hashed", expected: hashed },
      { slot: 1, address: "cohorts.older", expected: older },
      { slot: 2, address: "cohorts.changed", expected: changed },
    ];
    const counts = async (table: string) => (await engine.connection.runAndReadAll(`SELECT slot, count(*) FROM ${table} GROUP BY slot ORDER BY slot`)).getRows().map((r) => r.map(Number));
    expect(await counts(await loadSnapshots(engine, backend, requests))).toEqual([[0, 100], [1, 200], [2, 300]]);

    // Another snapshot's file (valid Parquet, other members) in place of cohorts.changed's.
    copyFileSync(join(dir, hashed.snapshot), join(dir, changed.snapshot));
    const error = await loadSnapshots(engine, backend, requests).catch((e: unknown) => e);
    expect((error as CohoError).code).toBe("state.snapshot_mismatch");
    expect((error as CohoError).message).toContain("the snapshot of cohorts.changed does not match coho.lock: expected 300 members");
    expect((error as CohoError).message).toContain("found 100");
  });
});
