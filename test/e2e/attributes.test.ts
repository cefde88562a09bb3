import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { attributeFields, emulators, postJson, requestLog, userAttributes } from "../helpers/emulator.js";
import { ROADS, applyProjectFor, brazeByName, coho, ids, isMembershipRequest, keysOf, writeMembers } from "../helpers/apply-project.js";

const start = emulators();

interface Cost {
  requests: number;
  read_back_requests?: number;
  attribute_updates: number;
  seconds: number;
}

describe.each(ROADS)("the cost estimate (%s road)", (road) => {
  it("equals what apply then sends: requests and attribute updates, per cohort and in total", async () => {
    const emu = await start();
    const dir = await applyProjectFor("local", emu, { road });
    writeMembers(dir, "a", ids(1601));
    writeMembers(dir, "b", ids(80, 50_000));
    // The plan's "why" speaks of the attribute, not of a Braze cohort this road never creates.
    const fresh = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as { cohorts: { address: string; reason: string }[] };
    expect(fresh.cohorts.map((c) => c.reason)).toEqual(
      road === "attributes"
        ? [
            "not in state: coho starts writing the boolean attribute coho_alpha for its members (no Braze cohort exists on this road)",
            'not in state: coho starts writing the value "beta" of the array attribute coho_cohorts for its members (no Braze cohort exists on this road)',
          ]
        : ["not in state: a new Braze cohort is created", "not in state: a new Braze cohort is created"],
    );
    const check = async () => {
      const planned = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as { format_version: string; cost: Cost; cohorts: { address: string; cost: Cost }[] };
      expect(planned.format_version).toBe("1.1");
      const before = emu.log.total;
      const applied = JSON.parse((await coho(dir, ["apply", "--auto-approve", "--json"])).stdout) as { totals: { requests: number }; cohorts: { address: string; requests: number }[] };
      const log = (await requestLog(emu)).filter((r) => r.seq > before);
      // Additions are read back to confirm them (missing_profiles: wait), counted apart.
      const sent = log.filter((r) => r.path !== "/users/export/ids");
      expect(sent).toHaveLength(planned.cost.requests);
      expect(log.length - sent.length).toBe(planned.cost.read_back_requests ?? 0);
      for (const cohort of planned.cohorts) expect(cohort.cost.read_back_requests ?? 0).toBeLessThanOrEqual(cohort.cost.requests * 2);
      expect(applied.totals.requests).toBe(planned.cost.requests);
      for (const cohort of applied.cohorts) expect(cohort.requests).toBe(planned.cohorts.find((c) => c.address === cohort.address)!.cost.requests);
      // One attribute update per attribute an object writes (its identifier and _update_existing_only aside).
      const objects = sent.filter((r) => r.path === "/users/track").flatMap((r) => r.attributes as Record<string, unknown>[]);
      expect(objects.reduce((n, o) => n + attributeFields(o).length, 0)).toBe(planned.cost.attribute_updates);
      return planned.cost;
    };
    const first = await check();
    // 1681 users in 23 requests (22 of 75, one of 31), every one an addition: two exports per full request, one for the last.
    expect(first.read_back_requests).toBe(road === "cohorts" ? undefined : 22 * 2 + 1);
    // The attribute road: both cohorts of the destination share requests, 1681 distinct users.
    expect(first.requests).toBe(road === "cohorts" ? 2 + 2 + 1 : Math.ceil(1681 / 75));
    expect(first.attribute_updates).toBe(road === "cohorts" ? 0 : 1681);
    expect(first.seconds).toBeGreaterThan(0);
    // A change that mixes joins and leaves in one cohort.
    writeMembers(dir, "a", ids(1601, 40));
    const second = await check();
    expect(second.attribute_updates).toBe(road === "cohorts" ? 0 : 80);
    const human = await coho(dir, ["plan"]);
    expect(human.stdout).toContain("No changes.");
  });
});

describe("the /users/track road", () => {
  it("never acknowledges members Braze refused: the report lists them, they stay pending, the next plan says so", async () => {
    const emu = await start();
    const dir = await applyProjectFor("local", emu, { road: "attributes" });
    writeMembers(dir, "a", ids(100));
    await postJson(`${emu.url}/_emulator/refuse`, { keys: ["external_id:u00007", "external_id:u00042"] });
    const applied = await coho(dir, ["apply", "--auto-approve", "--json"]);
    expect(applied.code).toBe(1);
    const report = JSON.parse(applied.stdout) as { success: boolean; cohorts: { address: string; status: string; added: number; refused: number; refusals: Record<string, number> }[] };
    const alpha = report.cohorts.find((c) => c.address === "cohorts.alpha")!;
    expect(alpha).toMatchObject({ status: "partial", added: 98, refused: 2, refusals: { "Invalid attribute value (refused by the emulator)": 2 } });
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, { members: { count: number }; refused?: number }> };
    expect(lock.cohorts["cohorts.alpha"]).toMatchObject({ members: { count: 98 }, refused: 2 });

    const human = await coho(dir, ["apply", "--auto-approve"]);
    expect(human.stdout).toContain("PARTIAL");
    expect(human.stdout).toContain("refused 2×: Invalid attribute value (refused by the emulator)");
    const plan = await coho(dir, ["plan", "--json"]);
    const planned = JSON.parse(plan.stdout) as { cohorts: { address: string; members: { add: number }; refused_last_apply?: number }[] };
    expect(planned.cohorts.find((c) => c.address === "cohorts.alpha")).toMatchObject({ members: { add: 2 }, refused_last_apply: 2 });

    await postJson(`${emu.url}/_emulator/refuse`, { keys: [] });
    const fixed = await coho(dir, ["apply", "--auto-approve"]);
    expect(fixed.code).toBe(0);
    expect((await brazeByName(emu, "attributes")).Alpha).toEqual(keysOf(ids(100)));
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });

  it("a renamed attribute is a re-target: members leave the old attribute and join the new one", async () => {
    const emu = await start();
    const dir = await applyProjectFor("postgres", emu, { road: "attributes" });
    writeMembers(dir, "a", ids(30));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const yaml = join(dir, "coho.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("attribute: coho_alpha", "attribute: coho_alpha_v2"));
    const plan = await coho(dir, ["plan"]);
    expect(plan.stdout).toContain("boolean:coho_alpha:false → boolean:coho_alpha_v2:false");
    expect(plan.stdout).toContain("30 → 30  (+30 / −30)");
    const before = emu.log.total;
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect((await requestLog(emu)).filter((r) => r.seq > before && isMembershipRequest(r))).toHaveLength(2);
    expect((await userAttributes(emu, "external_id:u00003")).custom_attributes).toEqual({ coho_alpha: false, coho_alpha_v2: true });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});

describe("coho verify", () => {
  const validate = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(join(REPO_ROOT, "schema", "coho-verify.schema.json"), "utf8")) as object);

  it("finds no drift after an apply, then exactly the drift planted through the emulator (exit 2)", async () => {
    const emu = await start();
    const dir = await applyProjectFor("local", emu, { road: "attributes" });
    writeMembers(dir, "a", ids(120));
    writeMembers(dir, "b", ids(40, 500));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const clean = await coho(dir, ["verify", "--json"]);
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.stdout) as { drift: boolean; cohorts: { address: string; sampled: number; drifted: number; reasons: Record<string, number> }[] };
    expect(validate(report)).toBe(true);
    expect(report.drift).toBe(false);
    expect(report.cohorts.map((c) => [c.address, c.sampled, c.drifted])).toEqual([["cohorts.alpha", 120, 0], ["cohorts.beta", 40, 0]]);
    const before = emu.log.total;
    const sampled = JSON.parse((await coho(dir, ["verify", "cohorts.alpha", "--sample", "60", "--json"])).stdout) as { cohorts: { sampled: number }[] };
    expect(sampled.cohorts.map((c) => c.sampled)).toEqual([60]);
    // Read-only: only export requests, 50 ids each at most.
    const reads = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(reads.map((r) => [r.path, r.processed])).toEqual([["/users/export/ids", false], ["/users/export/ids", false]]);

    const plant = (key: string, custom: Record<string, unknown>) => postJson(`${emu.url}/_emulator/users/${encodeURIComponent(key)}`, { custom_attributes: custom });
    await plant("external_id:u00003", { coho_alpha: false });
    await plant("external_id:u00503", { coho_cohorts: null });
    await fetch(`${emu.url}/_emulator/users/${encodeURIComponent("external_id:u00010")}`, { method: "DELETE" });
    const drifted = await coho(dir, ["verify", "--json", "--show-members", "5"]);
    expect(drifted.code).toBe(2);
    const found = JSON.parse(drifted.stdout) as { drift: boolean; cohorts: { address: string; drifted: number; reasons: Record<string, number>; samples: string[] }[] };
    expect(validate(found)).toBe(true);
    expect(found.cohorts).toMatchObject([
      { address: "cohorts.alpha", drifted: 2, reasons: { changed: 1, absent: 1, evicted: 0 } },
      { address: "cohorts.beta", drifted: 1, reasons: { changed: 1, absent: 0, evicted: 0 } },
    ]);
    expect(found.cohorts[0]!.samples.sort()).toEqual(["external_id:u00003", "external_id:u00010"]);
    const human = await coho(dir, ["verify"]);
    expect(human.code).toBe(2);
    expect(human.stdout).toContain("DRIFT");
    // verify never writes state.
    expect(JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")).serial).toBe(1);
  });

  it("says plainly that the Cohort Import road offers no read-back", async () => {
    const emu = await start();
    const dir = await applyProjectFor("local", emu, { road: "cohorts" });
    writeMembers(dir, "a", ids(3));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const result = await coho(dir, ["verify"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Braze offers no read-back for Cohort Import");
  });
});

describe("the array-cap guard", () => {
  it("blocks a plan when a user would hold more coho values in one array attribute than max_array_values", async () => {
    const emu = await start();
    const dir = await applyProjectFor("local", emu, { road: "attributes" });
    const yaml = join(dir, "coho.yaml");
    // alpha joins beta on the shared array attribute; the cap allows one value per user.
    writeFileSync(yaml, readFileSync(yaml, "utf8")
      .replace("attribute: coho_alpha", "attribute: { name: coho_cohorts, value: alpha }")
      .replace("api_key: ${env:BRAZE_REST_API_KEY}", "api_key: ${env:BRAZE_REST_API_KEY}\n    max_array_values: 1"));
    writeMembers(dir, "a", ids(10));
    writeMembers(dir, "b", ids(5, 100));
    const apart = await coho(dir, ["plan", "--json"]);
    expect(apart.code).toBe(0);
    expect((JSON.parse(apart.stdout) as { applyable: boolean }).applyable).toBe(true);
    // u00003 now in both cohorts: two values, over the cap of one.
    writeMembers(dir, "b", [...ids(5, 100), "u00003"]);
    const blocked = await coho(dir, ["plan"]);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain("max_array_values BLOCKED: array attribute coho_cohorts of destination braze would hold up to 2 coho values for one user, over max_array_values 1");
    expect(blocked.stdout).toContain("This plan cannot be applied.");
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code).toBe(1);
    expect(emu.log.total).toBe(0);
  });
});
