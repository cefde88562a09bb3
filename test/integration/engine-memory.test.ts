import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { machineMemoryBudget } from "../../src/sources/memory-budget.js";

/** How DuckDB reports a memory_limit it was given (e.g. "8192MiB" → "8.0 GiB"). */
async function asDuckDbReportsIt(limit: string): Promise<string> {
  const db = await DuckDBInstance.create(":memory:", { memory_limit: limit });
  const c = await db.connect();
  const value = String((await c.runAndReadAll("SELECT current_setting('memory_limit')")).getRows()[0]![0]);
  c.closeSync();
  db.closeSync();
  return value;
}

describe("the engine's memory limit", () => {
  it("is the machine's computed budget by default, not DuckDB's own default or a fixed cap", async () => {
    const engine = await DuckDbEngine.create({ projectDir: mkdtempSync(join(tmpdir(), "coho-mem-")) });
    try {
      const settings = await engine.settings();
      const budget = machineMemoryBudget();
      expect(settings.memoryLimit).toBe(await asDuckDbReportsIt(budget.limit));
      expect(settings.memoryLimit).not.toBe(await asDuckDbReportsIt("512MB"));
      expect(settings.memoryLimitFrom).toBe(`50% of ${budget.boundedBy}`);
      expect(settings.threads).toBeGreaterThanOrEqual(1);
    } finally {
      await engine.close();
    }
  });

  it("an explicit limit (COHO_MEMORY_LIMIT) overrides the budget", async () => {
    const engine = await DuckDbEngine.create({ projectDir: mkdtempSync(join(tmpdir(), "coho-mem-")), memoryLimit: "300MB" });
    try {
      expect(await engine.settings()).toMatchObject({ memoryLimit: await asDuckDbReportsIt("300MB"), memoryLimitFrom: "set by the caller (COHO_MEMORY_LIMIT)" });
    } finally {
      await engine.close();
    }
  });
});
