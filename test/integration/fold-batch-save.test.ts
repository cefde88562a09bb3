import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { foldJournal } from "../../src/apply/fold-journal.js";
import { Secret } from "../../src/model/secret.js";
import type { CohortState, LockfileDoc } from "../../src/model/state.js";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import type { StateBackend } from "../../src/state/backend.js";
import type { CohortEntryMeta, JournalRecord } from "../../src/state/journal.js";
import { LocalBackend } from "../../src/state/local-backend.js";
import { memberDigest, parseDigest, shiftDigest } from "../../src/state/member-digest.js";
import { PostgresBackend } from "../../src/state/postgres-backend.js";
import { verifySnapshot } from "../../src/state/postgres-snapshot-check.js";
import { fileSha256 } from "../../src/state/snapshot-record.js";
import { createDatabase } from "../helpers/project.js";

const key = (i: number) => `external_id:u${i}`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => key(from + i));

describe("member digest shifted by changes", () => {
  it("equals the digest of the changed set, read in full", () => {
    // Many random sets: the sums wrap modulo 2^64 both ways (additions and subtractions).
    for (let round = 0; round < 40; round++) {
      const base = range(0, 50 + round * 7);
      const added = range(10_000 + round * 100, 10_000 + round * 100 + (round % 9));
      const removed = base.filter((_, i) => (i * 31 + round) % 5 === 0);
      const gone = new Set(removed);
      const expected = memberDigest([...base.filter((k) => !gone.has(k)), ...added]);
      expect(shiftDigest(memberDigest(base), parseDigest(memberDigest(added)), parseDigest(memberDigest(removed)))).toBe(expected);
    }
    expect(shiftDigest(memberDigest(range(0, 3)), parseDigest(memberDigest([])), parseDigest(memberDigest(range(0, 3))))).toBe(memberDigest([]));
  });
});

function meta(cohortId: string): CohortEntryMeta {
  return {
    destination: "braze",
    cohort_id: cohortId,
    name: `Cohort ${cohortId}`,
    identifier: { name: "user_id", type: "external_id", column: "user_id" },
    model: { name: "m", sql: "select 1", sql_digest: "sha256:test" },
    prevent_destroy: false,
  };
}

async function saveRecorded(backend: StateBackend, engine: DuckDbEngine, cohortId: string, keys: readonly string[]): Promise<CohortState> {
  await engine.connection.run("CREATE OR REPLACE TABLE memory.main.recorded (key VARCHAR)");
  const appender = await engine.connection.createAppender("recorded", "main", "memory");
  for (const k of keys) {
    appender.appendVarchar(k);
    appender.endRow();
  }
  appender.closeSync();
  const saved = await backend.saveSnapshot(engine, cohortId, "SELECT key FROM memory.main.recorded");
  return { ...meta(cohortId), members: { count: saved.count, digest: saved.digest }, snapshot: saved.snapshot, applied_at: "2026-01-01T00:00:00.000Z" };
}

/**
 * Three cohorts folded together (the batch path): one with every awkward change —
 * a re-added member, an addition sent twice, a removal of a non-member, a member both
 * added and removed, a refused addition —, one emptied, one new. Each folded snapshot
 * must hold exactly the expected members under the digest the lockfile records, so
 * the digest shifted from the recorded one is the digest of the whole set.
 */
async function foldThree(backend: StateBackend, engine: DuckDbEngine) {
  const a = await saveRecorded(backend, engine, "a", range(0, 300));
  const b = await saveRecorded(backend, engine, "b", range(1000, 1200));
  const state: LockfileDoc = { format: "coho-lock", version: 1, lineage: "fold-test", serial: 1, cohorts: { "cohorts.a": a, "cohorts.b": b } };
  await backend.write(state);
  const batch = (address: string, seq: number, cohortId: string, add: string[], remove: string[]): JournalRecord => ({ t: "batch", address, seq, destination: "braze", cohort_id: cohortId, add, remove });
  const records: JournalRecord[] = [
    { t: "cohort", address: "cohorts.a", retarget: false, entry: meta("a"), prior_name: "Cohort a" },
    { t: "cohort", address: "cohorts.b", retarget: false, entry: meta("b"), prior_name: "Cohort b" },
    { t: "cohort", address: "cohorts.c", retarget: false, entry: meta("c"), prior_name: null },
    batch("cohorts.a", 0, "a", [key(5), key(500), key(501), key(502), key(503)], [key(0), key(1), key(900), key(503)]),
    { t: "ack", address: "cohorts.a", seq: 0, refused: [key(502)] },
    batch("cohorts.a", 1, "a", [key(500), key(504)], [key(2)]),
    { t: "ack", address: "cohorts.a", seq: 1 },
    batch("cohorts.b", 0, "b", [], range(1000, 1200)),
    { t: "ack", address: "cohorts.b", seq: 0 },
    batch("cohorts.c", 0, "c", range(2000, 2050), []),
    { t: "ack", address: "cohorts.c", seq: 0 },
  ];
  const result = await foldJournal(records, state, backend, engine, new Date("2026-01-02T00:00:00Z"));
  const expected: Record<string, string[]> = {
    "cohorts.a": [...range(3, 300), key(500), key(501), key(504)],
    "cohorts.b": [],
    "cohorts.c": range(2000, 2050),
  };
  const doc = result.doc!;
  expect(doc.serial).toBe(2);
  for (const [address, keys] of Object.entries(expected)) {
    const entry = doc.cohorts[address]!;
    expect(entry.members).toEqual({ count: keys.length, digest: memberDigest(keys) });
    if (keys.length === 0) continue;
    const table = await backend.loadSnapshot(engine, address, { snapshot: entry.snapshot, count: entry.members.count, digest: entry.members.digest });
    const back = (await engine.connection.runAndReadAll(`SELECT key FROM ${table}`)).getRows().map((r) => String(r[0]));
    expect(back.sort()).toEqual([...keys].sort());
  }
  expect(doc.cohorts["cohorts.a"]!.refused).toBe(1);
  return { doc, before: state };
}

describe("fold saves many snapshots with one backend call", () => {
  it("local: every folded snapshot holds exactly its members, no temporary file is left, replaced files are pruned", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coho-fold-batch-"));
    const backend = new LocalBackend(dir);
    const engine = await DuckDbEngine.create({ projectDir: dir });
    try {
      const { doc, before } = await foldThree(backend, engine);
      // The batch writer records each file's SHA-256, as every local snapshot writer does.
      for (const entry of Object.values(doc.cohorts)) expect(entry.snapshot_sha256).toBe(await fileSha256(join(dir, entry.snapshot)));
      const files = readdirSync(join(dir, ".coho", "snapshots")).sort();
      expect(files).toEqual(Object.values(doc.cohorts).map((c) => c.snapshot.split("/").pop()!).sort());
      for (const old of Object.values(before.cohorts)) expect(existsSync(join(dir, old.snapshot))).toBe(false);
    } finally {
      await engine.close();
      await backend.close();
    }
  }, 60_000);

  it("postgres: every folded snapshot holds exactly its members and gets its cheap check recorded", async () => {
    const url = await createDatabase(inject("pgUrl"), "fold_batch");
    const dir = mkdtempSync(join(tmpdir(), "coho-fold-batch-"));
    const backend = new PostgresBackend(dir, new Secret(url, "COHO_STATE_URL"), "coho");
    const engine = await DuckDbEngine.create({ projectDir: dir });
    try {
      const { doc } = await foldThree(backend, engine);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const tables = { snapshots: "coho.snapshot_keys", checks: "coho.snapshot_checks" };
        for (const address of ["cohorts.a", "cohorts.c"]) {
          const entry = doc.cohorts[address]!;
          expect(await verifySnapshot(client, tables, entry.snapshot, entry.members)).toBe("checksum");
        }
        // Only the snapshots the lockfile references are left.
        const { rows } = await client.query<{ snapshot: string }>("SELECT DISTINCT snapshot FROM coho.snapshot_keys ORDER BY 1");
        expect(rows.map((r) => r.snapshot)).toEqual(["cohorts.a", "cohorts.c"].map((a) => doc.cohorts[a]!.snapshot).sort());
      } finally {
        await client.end();
      }
    } finally {
      await engine.close();
      await backend.close();
    }
  }, 60_000);
});
