import { describe, expect, it } from "vitest";
import { apply, plan, type OperationEvent } from "../../src/index.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { SECRET_ENV, applyProject, brazeByName, ids, keysOf, writeMembers } from "../helpers/apply-project.js";
import { validateEvent } from "../helpers/event-schema.js";

const start = emulators();

describe("the library's apply()", () => {
  it("applies with events that match the schema and carry no secret, and returns the report", async () => {
    const emu = await start({ faultRate: 0.3, faultKinds: ["500", "drop_after"], seed: 4 });
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(1500));
    const events: OperationEvent[] = [];
    const result = await apply(dir, { env: SECRET_ENV, autoApprove: true, tuning: { retry: { baseDelayMs: 5 } }, onEvent: (e) => events.push(e) });
    expect(result.outcome).toBe("applied");
    expect(result.report?.totals).toMatchObject({ added: 1500, requests: 2 + 2, failed: 0 });
    expect(events.at(-1)).toEqual({ type: "report", command: "apply", outcome: "applied", report: result.report });
    for (const event of events) expect(validateEvent(event), JSON.stringify(validateEvent.errors)).toBe(true);
    const everything = JSON.stringify([events, result]);
    for (const secret of Object.values(SECRET_ENV)) expect(everything).not.toContain(secret);
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(1500)));
    const again = await plan(dir, { env: SECRET_ENV });
    expect(again.summary.members_add + again.summary.members_remove).toBe(0);
  });

  it("asks the approve callback with the plan, and sends nothing when it says no", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(7));
    const asked: number[] = [];
    const result = await apply(dir, { env: SECRET_ENV, approve: (p) => (asked.push(p.summary.members_add), false) });
    expect(asked).toEqual([7]);
    expect(result).toMatchObject({ outcome: "cancelled", report: null });
    expect(await requestLog(emu)).toEqual([]);
  });

  it("stops before the first request when its AbortSignal has fired, and says so", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    writeMembers(dir, "a", ids(7));
    const controller = new AbortController();
    controller.abort("shutting down");
    const events: OperationEvent[] = [];
    const result = await apply(dir, { env: SECRET_ENV, autoApprove: true, signal: controller.signal, onEvent: (e) => events.push(e) });
    expect(result.outcome).toBe("interrupted");
    expect(result.report?.cohorts.map((c) => c.status)).toEqual(["skipped", "skipped"]);
    expect(await requestLog(emu)).toEqual([]);
    const next = await apply(dir, { env: SECRET_ENV, autoApprove: true });
    expect(next.outcome).toBe("applied");
    expect((await brazeByName(emu)).Alpha).toEqual(keysOf(ids(7)));
    expect(events[0]).toEqual({ type: "stopping", reason: "shutting down" });
    expect(events.map((e) => e.type)).not.toContain("cohort_start");
  });

  it("refuses to run without a way to approve, before touching anything", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    await expect(apply(dir, { env: SECRET_ENV })).rejects.toMatchObject({ code: "apply.needs_approval" });
    await expect(apply(dir, { env: SECRET_ENV, planFile: "x.plan", targets: ["cohorts.alpha"] })).rejects.toMatchObject({ code: "apply.plan_file_options" });
  });
});
