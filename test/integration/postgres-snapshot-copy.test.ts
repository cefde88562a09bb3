import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { Secret } from "../../src/model/secret.js";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { copyText } from "../../src/state/postgres-copy.js";
import { PostgresBackend } from "../../src/state/postgres-backend.js";
import { memberDigest } from "../../src/state/member-digest.js";
import { loadSnapshots } from "../../src/state/load-snapshots.js";
import { uncopyText } from "../../src/state/postgres-snapshots.js";
import { createDatabase } from "../helpers/project.js";

describe("PostgreSQL snapshots written with COPY", () => {
  it("escape exactly the characters COPY's text format reserves", () => {
    expect(copyText("plain:é🙂")).toBe("plain:é🙂");
    expect(copyText("a\\b\tc\nd\re")).toBe("a\\\\b\\tc\\nd\\re");
    for (const text of ["plain", "a\\b\tc\nd\re", "\\N", "\\\\t", "\b\f\v"]) expect(uncopyText(copyText(text))).toBe(text);
    expect(uncopyText("\\b\\f\\v")).toBe("\b\f\v");
  });

  it("read back byte for byte, with the digest the lockfile records", async () => {
    const url = await createDatabase(inject("pgUrl"), "snapshot_copy");
    const dir = mkdtempSync(join(tmpdir(), "coho-copy-"));
    const backend = new PostgresBackend(dir, new Secret(url, "COHO_STATE_URL"), "coho");
    const engine = await DuckDbEngine.create({ projectDir: dir });
    try {
      const keys = ["external_id:plain", "alias:email:back\\slash", "alias:email:\\N", "device_id:tab\there", "external_id:nl\nx", "external_id:cr\ry", "alias:name:ünï 🙂", ...Array.from({ length: 25_000 }, (_, i) => `external_id:u${i}`)];
      await engine.connection.run("CREATE TABLE memory.main.k (key VARCHAR)");
      const appender = await engine.connection.createAppender("k", "main", "memory");
      for (const key of keys) {
        appender.appendVarchar(key);
        appender.endRow();
      }
      appender.closeSync();
      const saved = await backend.saveSnapshot(engine, "cohort-1", "SELECT key FROM memory.main.k");
      expect(saved.digest).toBe(memberDigest(keys));
      const table = await backend.loadSnapshot(engine, "cohorts.c", { snapshot: saved.snapshot, count: saved.count, digest: saved.digest });
      const back = (await engine.connection.runAndReadAll(`SELECT key FROM ${table} ORDER BY key`)).getRows().map((r) => String(r[0]));
      expect(back).toEqual([...keys].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1)));
    } finally {
      await engine.close();
      await backend.close();
    }
  }, 60_000);

  it("load many snapshots with one COPY, each tagged with its slot and verified by digest", async () => {
    const url = await createDatabase(inject("pgUrl"), "snapshot_copy_many");
    const dir = mkdtempSync(join(tmpdir(), "coho-copy-"));
    const backend = new PostgresBackend(dir, new Secret(url, "COHO_STATE_URL"), "coho");
    const engine = await DuckDbEngine.create({ projectDir: dir });
    try {
      const odd = ["alias:email:back\\slash", "device_id:tab\there", "external_id:nl\nx", "alias:name:ünï 🙂", "external_id:\\N", "device_id:bell\bform\fvt\v"];
      const sets = [odd, ["external_id:a", "external_id:b"], Array.from({ length: 30_000 }, (_, i) => `external_id:${"é".repeat(i % 7)}${i}`)];
      const saved: Awaited<ReturnType<PostgresBackend["saveSnapshot"]>>[] = [];
      for (const [i, keys] of sets.entries()) {
        await engine.connection.run(`CREATE OR REPLACE TABLE memory.main.k (key VARCHAR)`);
        const appender = await engine.connection.createAppender("k", "main", "memory");
        for (const key of keys) {
          appender.appendVarchar(key);
          appender.endRow();
        }
        appender.closeSync();
        saved.push(await backend.saveSnapshot(engine, `cohort-${i}`, "SELECT key FROM memory.main.k"));
      }
      // Slots 7 and 8 share one snapshot (a re-target reads it twice).
      const requests = [[3, 0], [5, 1], [7, 2], [8, 2]].map(([slot, i]) => ({ slot: slot!, address: `cohorts.c${i}`, expected: { ...saved[i!]!, snapshot: saved[i!]!.snapshot } }));
      const table = await loadSnapshots(engine, backend, requests);
      const rows = (await engine.connection.runAndReadAll(`SELECT slot, key FROM ${table}`)).getRows().map(([slot, key]) => [Number(slot), String(key)] as const);
      for (const [slot, i] of [[3, 0], [5, 1], [7, 2], [8, 2]] as const) {
        expect(rows.filter(([s]) => s === slot).map(([, k]) => k).sort()).toEqual([...sets[i]!].sort());
      }
      // A snapshot that does not match the digest its state records is refused, by address.
      const wrong = [{ slot: 1, address: "cohorts.c1", expected: { ...saved[1]!, digest: saved[0]!.digest } }];
      await expect(loadSnapshots(engine, backend, wrong)).rejects.toMatchObject({ code: "state.snapshot_mismatch", message: expect.stringContaining("cohorts.c1") });
    } finally {
      await engine.close();
      await backend.close();
    }
  }, 60_000);
});
