import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { Secret } from "../../src/model/secret.js";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { copyText } from "../../src/state/postgres-copy.js";
import { PostgresBackend } from "../../src/state/postgres-backend.js";
import { memberDigest } from "../../src/state/member-digest.js";
import { createDatabase } from "../helpers/project.js";

describe("PostgreSQL snapshots written with COPY", () => {
  it("escape exactly the characters COPY's text format reserves", () => {
    expect(copyText("plain:é🙂")).toBe("plain:é🙂");
    expect(copyText("a\\b\tc\nd\re")).toBe("a\\\\b\\tc\\nd\\re");
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
});
