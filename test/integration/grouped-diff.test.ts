import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { diffGrouped, type DiffSlot } from "../../src/plan/grouped-diff.js";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { LocalBackend } from "../../src/state/local-backend.js";

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

async function table(engine: DuckDbEngine, name: string, columns: string, rows: readonly (readonly string[])[]): Promise<string> {
  await engine.connection.run(`CREATE TABLE memory.main.${name} (${columns})`);
  const appender = await engine.connection.createAppender(name, "main", "memory");
  for (const row of rows) {
    for (const value of row) appender.appendVarchar(value);
    appender.endRow();
  }
  appender.closeSync();
  return `memory.main.${name}`;
}

describe("grouped diff", () => {
  it.each([1, 2, 3, 4])("finds each cohort's additions and removals exactly, whether cohorts share a group or not (seed %i)", async (seed) => {
    const next = random(seed);
    const dir = mkdtempSync(join(tmpdir(), "coho-grouped-"));
    const engine = await DuckDbEngine.create({ projectDir: dir });
    const backend = new LocalBackend(dir);
    try {
      const pool = Array.from({ length: 60 }, (_, i) => `external_id:u${i}`);
      const pick = (p: number) => pool.filter(() => next() < p);
      // Groups "a" and "b" are each wanted by several cohorts; "c" by one; slot 9 is a delete.
      const groups = { a: pick(0.5), b: pick(0.3), c: pick(0.6) } as Record<string, string[]>;
      const slotGroups: (string | undefined)[] = ["a", "a", "a", "b", "b", "c", "a", undefined, "b", undefined];
      const desired = await table(engine, "desired", "k VARCHAR, key VARCHAR", Object.entries(groups).flatMap(([k, keys]) => keys.map((key) => [k, key])));
      const slots: DiffSlot[] = [];
      const recorded = new Map<number, string[]>();
      for (const [slot, group] of slotGroups.entries()) {
        // Slot 6 has no snapshot yet (a new cohort; "x" has no desired members); the others hold a random past membership.
        const keys = slot === 6 ? [] : pick(0.4);
        recorded.set(slot, keys);
        if (keys.length === 0) {
          slots.push({ slot, group, snapshot: undefined });
          continue;
        }
        const source = await table(engine, `recorded_${slot}`, "key VARCHAR", keys.map((k) => [k]));
        const saved = await backend.saveSnapshot(engine, `c${slot}`, `SELECT key FROM ${source}`);
        slots.push({ slot, group, snapshot: { address: `cohorts.c${slot}`, expected: saved } });
      }
      const deltas = await diffGrouped(engine, backend, desired, slots);
      for (const [slot, group] of slotGroups.entries()) {
        const want = new Set(group === undefined ? [] : groups[group]);
        const had = new Set(recorded.get(slot));
        const read = async (relation: string) => (await engine.connection.runAndReadAll(`SELECT key FROM ${relation} ORDER BY key`)).getRows().map((r) => String(r[0]));
        const delta = deltas.get(slot)!;
        const add = [...want].filter((k) => !had.has(k)).sort();
        const remove = [...had].filter((k) => !want.has(k)).sort();
        expect({ slot, add: await read(delta.addTable), remove: await read(delta.removeTable), counts: [delta.add, delta.remove] }).toEqual({ slot, add, remove, counts: [add.length, remove.length] });
      }
    } finally {
      await engine.close();
    }
  });
});
