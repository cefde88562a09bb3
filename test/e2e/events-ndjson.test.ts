import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators } from "../helpers/emulator.js";
import { applyProject, brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";
import { parseEventStream } from "../helpers/event-schema.js";

const start = emulators();

describe("--output ndjson", () => {
  it("plan: every line is a schema-valid event; cohorts with their counts, then the plan as the last line", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(1200));
    writeMembers(dir, "b", ids(3, 500));
    const result = await coho(dir, ["plan", "--output", "ndjson", "--detailed-exitcode"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("");
    const events = parseEventStream(result.stdout);
    expect(events.map((e) => e.type)).toEqual(["plan_started", "cohort_planned", "cohort_planned", "report"]);
    expect(events[1]).toMatchObject({ address: "cohorts.alpha", actions: ["create"], members: { before: 0, after: 1200, add: 1200, remove: 0 }, blocked: false });
    expect(events[3]).toMatchObject({ command: "plan", plan: { format: "coho-plan", summary: { create: 2, members_add: 1203 } } });
  });

  it("plan: a model repeating keys, kept and new ones, against a recorded snapshot: each key counted once, the repeats as duplicates", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(100));
    writeMembers(dir, "b", ids(5));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // u00000–u00089 kept (u00003 three times), u00090–u00099 removed, u00100–u00119 added (u00100 twice).
    writeMembers(dir, "a", [...ids(90), "u00003", "u00003", ...ids(20, 100), "u00100"]);
    const events = parseEventStream((await coho(dir, ["plan", "--output", "ndjson"])).stdout);
    const alpha = events.find((e) => e.type === "cohort_planned" && e.address === "cohorts.alpha")!;
    expect(alpha.members).toEqual({ before: 100, after: 110, add: 20, remove: 10 });
    const report = events.at(-1) as unknown as { plan: { cohorts: { address: string; rows: number; rejected: Record<string, number> }[] } };
    const planned = report.plan.cohorts.find((c) => c.address === "cohorts.alpha")!;
    expect(planned.rows).toBe(113);
    expect(planned.rejected).toMatchObject({ duplicate: 3, null: 0 });
  });

  it("plan: the engine's memory limit and its origin appear only in the event stream; COHO_MEMORY_LIMIT overrides the machine's share", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(10));
    writeMembers(dir, "b", ids(10));
    const byMachine = parseEventStream((await coho(dir, ["plan", "--output", "ndjson"])).stdout)[0]!;
    expect(byMachine.engine).toMatchObject({ memory_limit_from: expect.stringMatching(/^50% of (physical memory|cgroup v[12] )/) });
    const byEnv = parseEventStream((await coho(dir, ["plan", "--output", "ndjson"], { COHO_MEMORY_LIMIT: "300MB" })).stdout)[0]!;
    expect(byEnv.engine).toMatchObject({ memory_limit: "286.1 MiB", memory_limit_from: "set by the caller (COHO_MEMORY_LIMIT)" });
    const text = await coho(dir, ["plan"], { COHO_MEMORY_LIMIT: "300MB" });
    expect(`${text.stdout}${text.stderr}`).not.toMatch(/memory|MiB|GiB/i);
  });

  it("apply: plan, batches, retries with their reasons, cohorts done, state written, and the report last; the embedded plan and report valid in strict mode", async () => {
    // Every other answer is a 500 or a 429: retries are certain.
    const emu = await start({ faultRate: 0.5, faultKinds: ["500", "429"], seed: 7 });
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(2500));
    writeMembers(dir, "b", ids(10, 50_000));
    const result = await coho(dir, ["apply", "--auto-approve", "--output", "ndjson"], { COHO_RETRY_BASE_DELAY_MS: "5" });
    expect(result.code, result.stderr).toBe(0);
    const events = parseEventStream(result.stdout);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("plan_started");
    expect(types.indexOf("planned")).toBeGreaterThan(types.lastIndexOf("cohort_planned"));
    expect(types.indexOf("cohort_start")).toBeGreaterThan(types.indexOf("planned"));
    // The event that embeds the whole plan, checked (strictly) against the plan schema named by its $id.
    expect(events[types.indexOf("planned")]).toMatchObject({ plan: { format: "coho-plan", summary: { create: 2 } } });
    expect(types.filter((t) => t === "cohort_done")).toHaveLength(2);
    expect(types.at(-2)).toBe("state_written");
    expect(types.at(-1)).toBe("report");
    // Every event is stamped when it is written, in order, within this run.
    const times = events.map((e) => Date.parse(e.at as string));
    expect(times.every((t) => Number.isFinite(t))).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1)! - times[0]!).toBeLessThan(10 * 60_000);
    const acked = events.filter((e) => e.type === "batch_acked").map((e) => e.identifiers as number);
    expect(acked.sort((a, b) => a - b)).toEqual([10, 500, 1000, 1000]);
    const retries = events.filter((e) => e.type === "retry");
    expect(retries.length).toBeGreaterThan(0);
    for (const retry of retries) {
      expect([429, 500]).toContain(retry.status);
      expect(String(retry.reason)).not.toBe("");
    }
    const last = events.at(-1) as unknown as { outcome: string; report: { totals: { added: number; retries: number } } };
    expect(last.outcome).toBe("applied");
    expect(last.report.totals.added).toBe(2510);
    // Not toBe: a cohort's retry count includes retries of cohorts sharing its destination's client at the same time.
    expect(last.report.totals.retries).toBeGreaterThanOrEqual(retries.length);
    expect(await brazeByName(emu)).toEqual({ Alpha: keysOf(ids(2500)), Beta: keysOf(ids(10, 50_000)) });
  });

  it("ends the stream with an error event when apply cannot run, and with the report when there is nothing to do", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    const refused = await coho(dir, ["apply", "--output", "ndjson"]);
    expect(refused.code).toBe(1);
    expect(parseEventStream(refused.stdout)).toEqual([expect.objectContaining({ type: "error", code: "apply.needs_approval" })]);
    expect(refused.stderr).toContain("no terminal to ask for approval");

    const missing = await coho(join(dir, "nowhere"), ["plan", "--output", "ndjson"]);
    expect(missing.code).toBe(1);
    expect(parseEventStream(missing.stdout).at(-1)).toMatchObject({ type: "error", code: "config.invalid" });

    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const nothing = await coho(dir, ["apply", "--auto-approve", "--output", "ndjson"]);
    expect(nothing.code).toBe(0);
    expect(parseEventStream(nothing.stdout).at(-1)).toMatchObject({ type: "report", outcome: "no_changes", report: { success: true } });
  });

  it("refuses two output formats at once", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    const both = await coho(dir, ["plan", "--json", "--output", "ndjson"]);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("choose one output format, not ndjson and json");
  });
});
