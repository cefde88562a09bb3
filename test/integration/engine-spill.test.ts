import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";

describe("the engine's spill folder", () => {
  it("is usable in a project that has no .coho/ yet (state in PostgreSQL), when a query must spill", async () => {
    const project = mkdtempSync(join(tmpdir(), "coho-spill-"));
    const tempDirectory = join(project, ".coho", "tmp");
    const engine = await DuckDbEngine.create({ projectDir: project, memoryLimit: "64MB", tempDirectory, threads: 1 });
    try {
      // About 2M distinct 50-byte keys grouped under a 64 MB limit: more than fits, so DuckDB spills.
      await engine.connection.run(
        "CREATE TABLE memory.main.t AS SELECT k, count(*) AS n FROM (SELECT 'key-' || (range * 7919 % 2000000)::VARCHAR || repeat('x', 40) AS k FROM range(2000000)) GROUP BY k",
      );
      const rows = (await engine.connection.runAndReadAll("SELECT count(*), sum(n) FROM memory.main.t")).getRows()[0]!;
      expect(rows.map(Number)).toEqual([2_000_000, 2_000_000]);
      expect(existsSync(join(project, ".coho"))).toBe(true);
    } finally {
      await engine.close();
    }
  }, 60_000);
});
