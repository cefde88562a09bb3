import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators, requestLog } from "../helpers/emulator.js";
import { SUITE_CASES, applyProject, applyProjectFor, brazeByName, cohoVia, ids, isMembershipRequest, keysOf, writeMembers } from "../helpers/apply-project.js";

const start = emulators();

describe.each(SUITE_CASES)("saved plans (%s state, through the %s, %s road)", (backend, driver, road) => {
  const coho = cohoVia(driver);

  it("apply exactly their deltas when fresh, and are refused with distinct messages when not", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(1500));
    writeMembers(dir, "b", ids(2, 900));
    const planned = await coho(dir, ["plan", "--out", join(dir, "first.plan")]);
    expect(planned.code).toBe(0);
    expect(planned.stderr).toContain(`Saved the plan to ${join(dir, "first.plan")}`);
    const shown = await coho(dir, ["show", join(dir, "first.plan"), "--json"]);
    const plan = JSON.parse(shown.stdout) as { summary: { members_add: number }; state: { serial: number } };
    expect(plan.summary.members_add).toBe(1502);
    // The model changes after planning: the saved plan still sends what was reviewed.
    writeMembers(dir, "b", ids(5, 900));
    const { writeFileSync } = await import("node:fs");
    const applied = await coho(dir, ["apply", join(dir, "first.plan")]);
    expect(applied.code).toBe(0);
    expect((await brazeByName(emu, road)).Beta).toEqual(keysOf(ids(2, 900)));
    const membership = (await requestLog(emu)).filter(isMembershipRequest);
    // The attribute road sends one object per user: u00900 and u00901 join both cohorts in one object each.
    expect(membership.reduce((n, r) => n + (r.identifiers ?? 0), 0)).toBe(road === "cohorts" ? 1502 : 1500);

    const again = await coho(dir, ["apply", join(dir, "first.plan")]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("the state changed since the plan was made (serial 0 then, 1 now)");

    const second = await coho(dir, ["plan", "--out", join(dir, "second.plan")]);
    expect(second.code).toBe(0);
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("name: Beta", "name: Beta two"));
    const changed = await coho(dir, ["apply", join(dir, "second.plan")]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain("the configuration changed since the plan was made");

    const other = await applyProjectFor(backend, emu, { road });
    writeMembers(other, "a", ids(1));
    expect((await coho(other, ["apply", "--auto-approve"])).code).toBe(0);
    const foreign = await coho(other, ["apply", join(dir, "second.plan")]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain("the saved plan was made for another state");
  }, 120_000);

  it("refuses a saved plan that a guard blocked", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road, guards: "    guards: { max_removals: 1 }\n" });
    writeMembers(dir, "a", ids(10));
    await coho(dir, ["apply", "--auto-approve"]);
    writeMembers(dir, "a", ids(3));
    const planned = await coho(dir, ["plan", "--out", join(dir, "blocked.plan")]);
    expect(planned.code).toBe(1);
    const applied = await coho(dir, ["apply", join(dir, "blocked.plan")]);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain("the saved plan is blocked");
  });

  if (road === "cohorts") it("says so, without a stack trace, when the plan file is missing or not a plan", async () => {
    const emu = await start();
    const dir = applyProject(emu);
    const missing = await coho(dir, ["apply", join(dir, "nope.plan")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("plan file not found");
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "garbage.plan"), "not gzip at all");
    const garbage = await coho(dir, ["show", join(dir, "garbage.plan")]);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain("is not a readable coho plan file");
    expect(garbage.stderr).not.toMatch(/\n\s+at /);
  });
});
