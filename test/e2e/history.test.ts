import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HistoryRecord } from "../../src/model/history.js";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { emulator } from "../helpers/emulator.js";
import { BACKENDS, SECRET_ENV, applyProjectFor, coho, ids, queryState, stateUrl, writeMembers } from "../helpers/apply-project.js";

/** Everything the history holds, as stored (file or table), for leak checks. */
async function storedHistory(dir: string): Promise<string> {
  const url = stateUrl(dir);
  if (!url) return readFileSync(join(dir, ".coho", "history.jsonl"), "utf8");
  return JSON.stringify(await queryState(url, "SELECT record FROM coho.history ORDER BY seq"));
}

async function storedCount(dir: string): Promise<number> {
  const url = stateUrl(dir);
  if (!url) return readFileSync(join(dir, ".coho", "history.jsonl"), "utf8").trim().split("\n").length;
  return (await queryState(url, "SELECT count(*)::int AS n FROM coho.history"))[0].n;
}

describe.each(BACKENDS)("coho history (%s state)", (backend) => {
  let emu: RunningEmulator;
  let dir: string;
  beforeAll(async () => {
    emu = await emulator();
    dir = await applyProjectFor(backend, emu);
    writeMembers(dir, "a", ids(5));
    writeMembers(dir, "b", ids(2, 10));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // Alpha: two members leave, one joins, and two rows are refused (a blank id, read as NULL, and a duplicate).
    writeMembers(dir, "a", [...ids(3), "new-1", "", "u00000"]);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
  });
  afterAll(async () => emu.close());

  it("records every apply with serials, per-cohort counts and refused rows by reason", async () => {
    const result = await coho(dir, ["history", "--json"]);
    expect(result.code).toBe(0);
    const records = JSON.parse(result.stdout) as HistoryRecord[];
    expect(records.map((r) => [r.outcome, r.serial_before, r.serial_after])).toEqual([
      ["applied", 0, 1],
      ["applied", 1, 2],
      ["no_changes", 2, 2],
    ]);
    const second = records[1]!;
    const alpha = second.cohorts.find((c) => c.address === "cohorts.alpha")!;
    expect(alpha).toMatchObject({ actions: ["update"], status: "done", added: 1, removed: 2, failed: 0, requests: 1 });
    expect(Object.values(alpha.refused).reduce((a, b) => a + b, 0)).toBe(2);
    expect(alpha.refused).toMatchObject({ null: 1, duplicate: 1 });
    expect(second.cohorts.find((c) => c.address === "cohorts.beta")).toMatchObject({ actions: ["no-op"], status: "unchanged" });
    expect(second.totals).toMatchObject({ added: 1, removed: 2, requests: 1, refused: 2 });
    expect(second.who).toMatch(/@/);
    expect(Date.parse(second.finished_at)).toBeGreaterThanOrEqual(Date.parse(second.started_at));
    expect(records[0]!.lineage).toBe(records[2]!.lineage);
  });

  it("--last N and ADDR select records; the human view lists newest first", async () => {
    const last = JSON.parse((await coho(dir, ["history", "--json", "--last", "1"])).stdout) as HistoryRecord[];
    expect(last.map((r) => r.outcome)).toEqual(["no_changes"]);
    // Beta changed only in the first apply; a bare key means cohorts.KEY.
    const beta = JSON.parse((await coho(dir, ["history", "--json", "beta"])).stdout) as HistoryRecord[];
    expect(beta.map((r) => r.serial_after)).toEqual([1]);
    const human = await coho(dir, ["history"]);
    expect(human.code).toBe(0);
    const lines = human.stdout.split("\n");
    expect(lines[0]).toMatch(/no_changes\s+serial 2\s+\+0 \/ −0/);
    expect(human.stdout).toMatch(/serial 1→2\s+\+1 \/ −2\s+1 req/);
    expect(human.stdout).toContain("cohorts.alpha (update): done  +1, −2, 1 req, refused rows: 1 null, 1 duplicate");
    const markdown = await coho(dir, ["history", "--markdown", "--last", "1"]);
    expect(markdown.stdout).toMatch(/^<!-- coho-apply -->\n### coho apply: no changes/);
    const unknown = await coho(dir, ["history", "cohorts.nope"]);
    expect(unknown.stdout).toContain("No apply recorded for cohorts.nope.");
  });

  it("holds no member key and no secret", async () => {
    const stored = await storedHistory(dir);
    expect(stored).toContain("cohorts.alpha");
    for (const leak of ["u00000", "new-1", "external_id:", SECRET_ENV.BRAZE_PARTNER_API_KEY, SECRET_ENV.BRAZE_DATA_IMPORT_KEY]) expect(stored).not.toContain(leak);
  });

  it("keeps the newest 1,000 applies", async () => {
    const filler = JSON.parse((await coho(dir, ["history", "--json", "--last", "1"])).stdout)[0] as HistoryRecord;
    const url = stateUrl(dir);
    const fillers = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ ...filler, id: `filler-${i}` }));
    if (url) {
      await queryState(url, `INSERT INTO coho.history (record) SELECT r::jsonb FROM unnest(ARRAY[${fillers.map((f) => `'${f.replace(/'/g, "''")}'`).join(",")}]) AS r`);
    } else {
      mkdirSync(join(dir, ".coho"), { recursive: true });
      appendFileSync(join(dir, ".coho", "history.jsonl"), fillers.map((f) => `${f}\n`).join(""));
    }
    expect(await storedCount(dir)).toBe(1003);
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(await storedCount(dir)).toBe(1000);
    const records = JSON.parse((await coho(dir, ["history", "--json"])).stdout) as HistoryRecord[];
    expect(records).toHaveLength(1000);
    expect(records[0]!.id).toBe("filler-1");
    expect(records.at(-1)!.id).not.toMatch(/^filler/);
  });
});
