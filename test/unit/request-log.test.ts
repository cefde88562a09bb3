import { describe, expect, it } from "vitest";
import { RequestLog } from "../../src/emulator/request-log.js";

describe("the emulator's request log", () => {
  const request = (i: number) => ({ at: new Date(i).toISOString(), method: "POST", path: "/users/track", status: 0 as number | "dropped", processed: false });

  it("keeps bodies for the newest logBodyCapacity requests only; older entries keep status and counts", () => {
    const log = new RequestLog(10, 3);
    for (let i = 0; i < 8; i++) {
      const entry = log.add(request(i));
      // Details arrive once answered, after add().
      Object.assign(entry, { status: 201, identifiers: 2, attributes: [{ external_id: `u${i}` }, { external_id: `v${i}` }] });
    }
    const all = log.since(0);
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all.map((e) => e.attributes !== undefined)).toEqual([false, false, false, false, false, true, true, true]);
    expect(all.every((e) => e.status === 201 && e.identifiers === 2)).toBe(true);
    expect(all.at(-1)!.attributes).toEqual([{ external_id: "u7" }, { external_id: "v7" }]);
  });

  it("keeps every body by default, and at most `capacity` entries", () => {
    const log = new RequestLog(4);
    for (let i = 0; i < 6; i++) Object.assign(log.add(request(i)), { cohort_changes: [{ user_ids: [`u${i}`] }] });
    const all = log.since(0);
    expect(all.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(all.every((e) => e.cohort_changes !== undefined)).toBe(true);
    expect(log.total).toBe(6);
  });
});
