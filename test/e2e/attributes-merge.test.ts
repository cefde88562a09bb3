import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures.js";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { attributeFields, getJson, emulators, postJson, requestLog, userAttributes } from "../helpers/emulator.js";
import { BACKENDS, applyProjectFor, coho, ids, journalPending, keysOf, lockHeld, writeMembers, type Backend } from "../helpers/apply-project.js";
import { seededRandom } from "../helpers/random.js";
import { killAt, pointName, type KillPoint } from "../helpers/kill-points.js";
import { lockfile, spawnApply } from "../helpers/spawn-apply.js";

const start = emulators();
const validPlan = new Ajv({ strict: false }).compile(JSON.parse(readFileSync(join(REPO_ROOT, "schema", "coho-plan.schema.json"), "utf8")) as object);

interface Cost {
  requests: number;
  attribute_updates: number;
  shared_with?: string[];
}
interface PlanJson {
  cost: Cost;
  cohorts: { address: string; members: { add: number; remove: number }; cost: Cost }[];
}
interface ReportJson {
  totals: { requests: number };
  cohorts: { address: string; status: string; added: number; removed: number; refused: number; requests: number }[];
}

/** The apply project with alpha and beta both values of the array attribute coho_cohorts. */
async function sharedArrayProject(backend: Backend, emu: RunningEmulator): Promise<string> {
  const dir = await applyProjectFor(backend, emu, { road: "attributes" });
  const yaml = join(dir, "coho.yaml");
  writeFileSync(yaml, readFileSync(yaml, "utf8").replace("attribute: coho_alpha", "attribute: { name: coho_cohorts, value: alpha }"));
  return dir;
}

/** Who holds each value of coho_cohorts in the emulator. */
async function holders(emu: RunningEmulator): Promise<{ alpha: string[]; beta: string[] }> {
  const { users } = await getJson<{ users: { key: string; custom_attributes: Record<string, unknown> }[] }>(`${emu.url}/_emulator/users`);
  const holding = (value: string) => users.filter((u) => Array.isArray(u.custom_attributes.coho_cohorts) && u.custom_attributes.coho_cohorts.includes(value)).map((u) => u.key).sort();
  return { alpha: holding("alpha"), beta: holding("beta") };
}

/** Plans (JSON), applies (JSON), and checks that the plan's estimate is what apply sent, in total and per cohort. */
async function planAndApply(emu: RunningEmulator, dir: string, saved?: string): Promise<{ plan: PlanJson; report: ReportJson; sent: { attributes: Record<string, unknown>[] }[] }> {
  const plan = JSON.parse((await coho(dir, ["plan", "--json", ...(saved ? ["--out", saved] : [])])).stdout) as PlanJson;
  const before = emu.log.total;
  const applied = await coho(dir, ["apply", ...(saved ? [saved] : ["--auto-approve"]), "--json"]);
  const report = JSON.parse(applied.stdout) as ReportJson;
  const sent = (await requestLog(emu)).filter((r) => r.seq > before && r.path === "/users/track") as unknown as { attributes: Record<string, unknown>[] }[];
  expect(sent).toHaveLength(plan.cost.requests);
  expect(report.totals.requests).toBe(plan.cost.requests);
  // One attribute update per attribute an object writes.
  expect(sent.flatMap((r) => r.attributes).reduce((n, o) => n + attributeFields(o).length, 0)).toBe(plan.cost.attribute_updates);
  for (const cohort of report.cohorts) expect(cohort.requests, cohort.address).toBe(plan.cohorts.find((c) => c.address === cohort.address)!.cost.requests);
  expect(plan.cohorts.reduce((n, c) => n + c.cost.requests, 0)).toBe(plan.cost.requests);
  expect(plan.cohorts.reduce((n, c) => n + c.cost.attribute_updates, 0)).toBe(plan.cost.attribute_updates);
  return { plan, report, sent };
}

// The sharing is the road's, before any state is written: local state here; shared
// arrays over PostgreSQL state are the SIGKILL rounds' below (postgres, array + array).
describe.each(["local"] as const)("cohorts on one array attribute share requests (%s state)", (backend) => {
  it("a user moving from alpha to beta is one object with add and remove; requests = ceil(distinct users / 75) = the plan's estimate", async () => {
    const emu = await start();
    const dir = await sharedArrayProject(backend, emu);
    writeMembers(dir, "a", ids(200));
    const first = await planAndApply(emu, dir);
    expect(first.plan.cost.requests).toBe(Math.ceil(200 / 75));

    // u00000–u00099 leave alpha and join beta; 20 new users join beta only: 120 distinct users.
    writeMembers(dir, "a", ids(100, 100));
    writeMembers(dir, "b", [...ids(100), ...ids(20, 5000)]);
    const { plan, report, sent } = await planAndApply(emu, dir);
    expect(validPlan(plan), JSON.stringify(validPlan.errors)).toBe(true);
    expect(plan.cost).toMatchObject({ requests: Math.ceil(120 / 75), attribute_updates: 120 });
    // Alone they would cost ceil(100/75) + ceil(120/75) = 4 requests and 220 updates.
    const byAddress = Object.fromEntries(plan.cohorts.map((c) => [c.address, c]));
    expect(byAddress["cohorts.alpha"]!.cost.shared_with).toEqual(["cohorts.beta"]);
    expect(byAddress["cohorts.beta"]!.cost.shared_with).toEqual(["cohorts.alpha"]);
    expect(byAddress["cohorts.alpha"]!.cost.requests + byAddress["cohorts.beta"]!.cost.requests).toBe(2);
    const objects = sent.flatMap((r) => r.attributes);
    expect(objects.find((o) => o.external_id === "u00003")).toEqual({ external_id: "u00003", _update_existing_only: true, coho_cohorts: { add: ["beta"], remove: ["alpha"] } });
    expect(objects.find((o) => o.external_id === "u05003")).toEqual({ external_id: "u05003", _update_existing_only: true, coho_cohorts: { add: ["beta"] } });
    expect(new Set(objects.map((o) => o.external_id)).size).toBe(120);
    expect(report.cohorts.map((c) => [c.address, c.status, c.added, c.removed])).toEqual([["cohorts.alpha", "done", 0, 100], ["cohorts.beta", "done", 120, 0]]);
    // The emulator applied both halves of each object.
    expect((await userAttributes(emu, "external_id:u00003")).custom_attributes).toEqual({ coho_cohorts: ["beta"] });
    expect(await holders(emu)).toEqual({ alpha: keysOf(ids(100, 100)), beta: keysOf([...ids(100), ...ids(20, 5000)]) });
    expect(lockfile(dir).cohorts["cohorts.beta"]!.members.count).toBe(120);

    // The human and markdown views say the requests are shared; a saved plan sends the same.
    writeMembers(dir, "a", ids(100));
    writeMembers(dir, "b", [...ids(100, 100), ...ids(20, 5000)]);
    const human = await coho(dir, ["plan"]);
    expect(human.stdout).toContain("Cost: 3 requests · 200 attribute updates");
    expect(human.stdout).toContain("(its share: requests shared with cohorts.beta, one object per user)");
    expect((await coho(dir, ["plan", "--markdown"])).stdout).toContain("share requests (one object per user): each row shows its share");
    const swapped = await planAndApply(emu, dir, join(dir, "swap.plan"));
    expect(swapped.plan.cost.requests).toBe(Math.ceil(200 / 75));
    expect(swapped.sent.flatMap((r) => r.attributes).every((o) => JSON.stringify(o.coho_cohorts).includes('"add"') && JSON.stringify(o.coho_cohorts).includes('"remove"'))).toBe(true);
    expect(await holders(emu)).toEqual({ alpha: keysOf(ids(100)), beta: keysOf([...ids(100, 100), ...ids(20, 5000)]) });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});

/** Alpha writes the boolean coho_alpha (on_leave false); beta either the boolean coho_beta (on_leave unset) or the array value coho_cohorts ∋ beta. */
type Shape = "boolean + boolean" | "boolean + array";
const SHAPES: Shape[] = ["boolean + boolean", "boolean + array"];

async function mixedProject(shape: Shape, backend: Backend, emu: RunningEmulator): Promise<string> {
  const dir = await applyProjectFor(backend, emu, { road: "attributes" });
  if (shape === "boolean + array") return dir;
  const yaml = join(dir, "coho.yaml");
  writeFileSync(yaml, readFileSync(yaml, "utf8").replace("attribute: { name: coho_cohorts, value: beta }", "attribute: coho_beta\n    on_leave: unset"));
  return dir;
}

/** What beta's join and leave write in an object, for the shape. */
function betaWrites(shape: Shape): { join: Record<string, unknown>; leave: Record<string, unknown> } {
  return shape === "boolean + boolean" ? { join: { coho_beta: true }, leave: { coho_beta: null } } : { join: { coho_cohorts: { add: ["beta"] } }, leave: { coho_cohorts: { remove: ["beta"] } } };
}

/** Who is in alpha and beta according to the emulator's attributes. */
async function mixedHolders(shape: Shape, emu: RunningEmulator): Promise<{ alpha: string[]; beta: string[] }> {
  const { users } = await getJson<{ users: { key: string; custom_attributes: Record<string, unknown> }[] }>(`${emu.url}/_emulator/users`);
  const inBeta = (c: Record<string, unknown>) => (shape === "boolean + boolean" ? c.coho_beta === true : Array.isArray(c.coho_cohorts) && c.coho_cohorts.includes("beta"));
  return { alpha: users.filter((u) => u.custom_attributes.coho_alpha === true).map((u) => u.key).sort(), beta: users.filter((u) => inBeta(u.custom_attributes)).map((u) => u.key).sort() };
}

// Which requests carry which users is the road's grouping, before any state is
// written; the state home only records the result, as every other test here checks.
// Both shapes on local state, and the mixed one (boolean + array) on PostgreSQL.
const SHARE_CASES: [Backend, Shape][] = [["local", "boolean + boolean"], ["local", "boolean + array"], ["postgres", "boolean + array"]];

describe.each(SHARE_CASES)("boolean cohorts share requests with the destination's other cohorts (%s state, %s)", (backend, shape) => {
  it("one object per changed user carrying every attribute; requests = ceil(distinct users / 75) = the plan = the emulator log", async () => {
    const emu = await start();
    const dir = await mixedProject(shape, backend, emu);
    const beta = betaWrites(shape);
    const object = (id: string, fields: Record<string, unknown>) => ({ external_id: id, _update_existing_only: true, ...fields });

    // alpha u00000–u00199, beta u00150–u00249: 250 distinct users (50 in both), 300 attribute updates.
    writeMembers(dir, "a", ids(200));
    writeMembers(dir, "b", ids(100, 150));
    const first = await planAndApply(emu, dir);
    expect(validPlan(first.plan), JSON.stringify(validPlan.errors)).toBe(true);
    // Alone: ceil(200/75) + ceil(100/75) = 5 requests.
    expect(first.plan.cost).toMatchObject({ requests: Math.ceil(250 / 75), attribute_updates: 300 });
    expect(first.plan.cohorts.map((c) => [c.address, c.cost.attribute_updates, c.cost.shared_with])).toEqual([
      ["cohorts.alpha", 200, ["cohorts.beta"]],
      ["cohorts.beta", 100, ["cohorts.alpha"]],
    ]);
    const sentFirst = first.sent.flatMap((r) => r.attributes);
    // Requests run concurrently: the log holds them in arrival order.
    expect(first.sent.map((r) => r.attributes.length).sort((a, b) => b - a)).toEqual([75, 75, 75, 25]);
    expect(sentFirst).toHaveLength(250);
    expect(sentFirst.find((o) => o.external_id === "u00160")).toEqual(object("u00160", { coho_alpha: true, ...beta.join }));
    expect(sentFirst.find((o) => o.external_id === "u00003")).toEqual(object("u00003", { coho_alpha: true }));
    expect(sentFirst.find((o) => o.external_id === "u00220")).toEqual(object("u00220", beta.join));
    expect(await mixedHolders(shape, emu)).toEqual({ alpha: keysOf(ids(200)), beta: keysOf(ids(100, 150)) });

    // u00000–u00099 leave alpha and join beta (one object each); u00150–u00249 leave beta: 200 distinct users.
    writeMembers(dir, "a", ids(100, 100));
    writeMembers(dir, "b", ids(100));
    const second = await planAndApply(emu, dir);
    // Alone: ceil(100/75) + ceil(200/75) = 5 requests.
    expect(second.plan.cost).toMatchObject({ requests: Math.ceil(200 / 75), attribute_updates: 300 });
    // Each boolean cohort's updates are its own changes; requests split by users owned (100 and 100).
    expect(second.plan.cohorts.map((c) => [c.address, c.cost.requests, c.cost.attribute_updates])).toEqual([["cohorts.alpha", 2, 100], ["cohorts.beta", 1, 200]]);
    expect(second.report.cohorts.map((c) => [c.address, c.status, c.added, c.removed])).toEqual([["cohorts.alpha", "done", 0, 100], ["cohorts.beta", "done", 100, 100]]);
    const sentSecond = second.sent.flatMap((r) => r.attributes);
    expect(sentSecond).toHaveLength(200);
    expect(sentSecond.find((o) => o.external_id === "u00003")).toEqual(object("u00003", { coho_alpha: false, ...beta.join }));
    expect(sentSecond.find((o) => o.external_id === "u00160")).toEqual(object("u00160", beta.leave));
    expect(sentSecond.find((o) => o.external_id === "u00203")).toEqual(object("u00203", beta.leave));
    // The emulator applied every attribute of each object.
    expect((await userAttributes(emu, "external_id:u00003")).custom_attributes).toEqual(shape === "boolean + boolean" ? { coho_alpha: false, coho_beta: true } : { coho_alpha: false, coho_cohorts: ["beta"] });
    expect((await userAttributes(emu, "external_id:u00160")).custom_attributes).toEqual(shape === "boolean + boolean" ? { coho_alpha: true } : { coho_alpha: true, coho_cohorts: [] });
    expect(await mixedHolders(shape, emu)).toEqual({ alpha: keysOf(ids(100, 100)), beta: keysOf(ids(100)) });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});

describe("a cohort removed from the config while a new cohort takes over its boolean attribute", () => {
  it("users leaving the old and joining the new get one object, and the join wins: true, not false", async () => {
    const emu = await start();
    const dir = await mixedProject("boolean + boolean", "local", emu);
    writeMembers(dir, "a", ids(100));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // alpha (coho_alpha: u00000–u00099) leaves the config; gamma writes coho_alpha for u00050–u00149.
    const yaml = join(dir, "coho.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("  alpha:\n    name: Alpha", "  gamma:\n    name: Gamma"));
    writeMembers(dir, "a", ids(100, 50));
    const { plan, sent } = await planAndApply(emu, dir);
    const changed = plan.cohorts.filter((c) => c.members.add + c.members.remove > 0).sort((a, b) => (a.address < b.address ? -1 : 1));
    expect(changed.map((c) => [c.address, c.members.add, c.members.remove, c.cost.shared_with])).toEqual([
      ["cohorts.alpha", 0, 100, ["cohorts.gamma"]],
      ["cohorts.gamma", 100, 0, ["cohorts.alpha"]],
    ]);
    // 150 distinct users, one coho_alpha update each.
    expect(plan.cost).toMatchObject({ requests: 2, attribute_updates: 150 });
    const objects = sent.flatMap((r) => r.attributes);
    expect(objects.find((o) => o.external_id === "u00060")).toEqual({ external_id: "u00060", _update_existing_only: true, coho_alpha: true });
    expect(objects.find((o) => o.external_id === "u00010")).toEqual({ external_id: "u00010", _update_existing_only: true, coho_alpha: false });
    expect((await mixedHolders("boolean + boolean", emu)).alpha).toEqual(keysOf(ids(100, 50)));
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});

describe("an interrupted take-over of a boolean attribute", () => {
  it("resumes leaves before joins, so the join still wins when the removed cohort's address sorts after the new one's", async () => {
    const emu = await start();
    const dir = await mixedProject("boolean + boolean", "local", emu);
    writeMembers(dir, "b", ids(100));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // beta (coho_beta, on_leave unset: u00000–u00099) leaves the config; able writes coho_beta for u00050–u00149.
    const yaml = join(dir, "coho.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("  beta:\n    name: Beta", "  able:\n    name: Able"));
    writeMembers(dir, "b", ids(100, 50));
    // Braze processes the shared requests, then the connection drops: their fate is unknown to coho.
    await postJson(`${emu.url}/_emulator/config`, { fault_rate: 1, fault_kinds: ["drop_after"] });
    const failed = await coho(dir, ["apply", "--auto-approve"], { COHO_RETRY_MAX_ATTEMPTS: "1" });
    expect(failed.code).toBe(1);
    expect(await journalPending(dir)).toBe(true);
    await postJson(`${emu.url}/_emulator/config`, { fault_rate: 0 });
    const before = emu.log.total;
    const resumed = await coho(dir, ["apply", "--auto-approve"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("Found an interrupted apply");
    // Each cohort's part is resent alone: beta's leaves (null) first, then able's joins (true).
    const resent = (await requestLog(emu)).filter((r) => r.seq > before && r.path === "/users/track") as unknown as { attributes: Record<string, unknown>[] }[];
    const firstJoin = resent.findIndex((r) => r.attributes.some((o) => o.coho_beta === true));
    const lastLeave = resent.map((r) => r.attributes.some((o) => o.coho_beta === null)).lastIndexOf(true);
    expect(lastLeave).toBeGreaterThanOrEqual(0);
    expect(lastLeave).toBeLessThan(firstJoin);
    expect((await mixedHolders("boolean + boolean", emu)).beta).toEqual(keysOf(ids(100, 50)));
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  });
});

describe.each(SHAPES)("a shared request with a boolean cohort that Braze refuses in part (%s)", (shape) => {
  it("maps refused objects by index back to every cohort the user changes in; they stay pending, then converge", async () => {
    const emu = await start();
    const dir = await mixedProject(shape, "local", emu);
    writeMembers(dir, "a", ids(100));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // u00003 leaves alpha and joins beta (refused in both parts); u05001 only joins beta; u00070 only leaves alpha.
    writeMembers(dir, "a", ids(50, 50).filter((id) => id !== "u00070"));
    writeMembers(dir, "b", [...ids(50), ...ids(10, 5000)]);
    await postJson(`${emu.url}/_emulator/refuse`, { keys: ["external_id:u00003", "external_id:u05001", "external_id:u00070"] });
    const before = emu.log.total;
    const applied = await coho(dir, ["apply", "--auto-approve", "--json"]);
    expect(applied.code).toBe(1);
    const report = JSON.parse(applied.stdout) as ReportJson;
    expect(report.totals.requests).toBe(1);
    const sent = (await requestLog(emu)).filter((r) => r.seq > before && r.path === "/users/track") as unknown as { attributes: Record<string, unknown>[] }[];
    expect(sent).toHaveLength(1);
    expect(sent[0]!.attributes).toHaveLength(61);
    expect(report.cohorts.map((c) => [c.address, c.status, c.added, c.removed, c.refused])).toEqual([
      ["cohorts.alpha", "partial", 0, 49, 2],
      ["cohorts.beta", "partial", 58, 0, 2],
    ]);
    const plan = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    expect(plan.cohorts.map((c) => [c.address, c.members.add, c.members.remove])).toEqual([["cohorts.alpha", 0, 2], ["cohorts.beta", 2, 0]]);
    // Three users still to change (u00003 in both cohorts): one request, four attribute updates.
    expect(plan.cost).toMatchObject({ requests: 1, attribute_updates: 4 });

    await postJson(`${emu.url}/_emulator/refuse`, { keys: [] });
    const last = await planAndApply(emu, dir);
    expect(last.sent.flatMap((r) => r.attributes).map((o) => o.external_id).sort()).toEqual(["u00003", "u00070", "u05001"]);
    expect(await mixedHolders(shape, emu)).toEqual({ alpha: keysOf(ids(50, 50).filter((id) => id !== "u00070")), beta: keysOf([...ids(50), ...ids(10, 5000)]) });
  });
});

describe("a shared request Braze refuses in part", () => {
  it("maps refused objects by index back to every cohort part of that user; they stay pending", async () => {
    const emu = await start();
    const dir = await sharedArrayProject("local", emu);
    writeMembers(dir, "a", ids(100));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    // u00003 leaves alpha and joins beta (refused in both parts); u05001 only joins beta.
    writeMembers(dir, "a", ids(50, 50));
    writeMembers(dir, "b", [...ids(50), ...ids(10, 5000)]);
    await postJson(`${emu.url}/_emulator/refuse`, { keys: ["external_id:u00003", "external_id:u05001"] });
    const applied = await coho(dir, ["apply", "--auto-approve", "--json"]);
    expect(applied.code).toBe(1);
    const report = JSON.parse(applied.stdout) as ReportJson;
    expect(report.totals.requests).toBe(1);
    expect(report.cohorts.map((c) => [c.address, c.status, c.added, c.removed, c.refused])).toEqual([
      ["cohorts.alpha", "partial", 0, 49, 1],
      ["cohorts.beta", "partial", 58, 0, 2],
    ]);
    const lock = lockfile(dir) as unknown as { cohorts: Record<string, { members: { count: number }; refused?: number }> };
    expect(lock.cohorts["cohorts.alpha"]).toMatchObject({ members: { count: 51 }, refused: 1 });
    expect(lock.cohorts["cohorts.beta"]).toMatchObject({ members: { count: 58 }, refused: 2 });
    const plan = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    expect(plan.cohorts.map((c) => [c.address, c.members.add, c.members.remove])).toEqual([["cohorts.alpha", 0, 1], ["cohorts.beta", 2, 0]]);
    expect(plan.cost.requests).toBe(1);

    await postJson(`${emu.url}/_emulator/refuse`, { keys: [] });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(await holders(emu)).toEqual({ alpha: keysOf(ids(50, 50)), beta: keysOf([...ids(50), ...ids(10, 5000)]) });
  });
});

// Both backends with two array values; boolean + boolean (the new merge) on local state.
const KILL_CASES: [Backend, Shape | "array + array"][] = [...BACKENDS.map((b): [Backend, "array + array"] => [b, "array + array"]), ["local", "boolean + boolean"]];

// A shared request carries both cohorts' changes of each user: killed with one in
// flight (first, middle, last: test/helpers/kill-points.ts), the journal holds it for
// both cohorts, and the next apply re-sends it whole. These three points replace four
// kills at random moments after the first request, which hit an unanswered shared
// request only some of the time (at least once was all that was asserted).
const SHARED_KILLS: readonly KillPoint[] = [{ at: "in flight", request: "first" }, { at: "in flight", request: "middle" }, { at: "in flight", request: "last" }];

describe.each(KILL_CASES)("a SIGKILL in the middle of shared requests (%s state, %s)", (backend, shape) => {
  it("the next apply converges exactly (a shared request in flight: the first, the middle, the last; users moving between alpha and beta each round)", async () => {
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 40 });
    const dir = shape === "array + array" ? await sharedArrayProject(backend, emu) : await mixedProject(shape, backend, emu);
    const held = async () => (shape === "array + array" ? holders(emu) : mixedHolders(shape, emu));
    const rnd = seededRandom(20261129);
    for (const [round, point] of SHARED_KILLS.entries()) {
      // One pool: most changed users leave one value and gain the other.
      const a = ids(900).filter(() => rnd() < 0.5);
      const inA = new Set(a);
      const b = ids(900).filter((id) => !inA.has(id) || rnd() < 0.2);
      writeMembers(dir, "a", a);
      writeMembers(dir, "b", b);
      await killAt(point, emu, emu.log.total, spawnApply("binary", dir, { COHO_CONCURRENCY: "1" }));
      expect(await journalPending(dir), `round ${round} (${pointName(point)})`).toBe(true);
      const after = await coho(dir, ["apply", "--auto-approve"]);
      expect(after.code, `round ${round}: ${after.stdout}${after.stderr}`).toBe(0);
      expect(after.stderr, `round ${round} (${pointName(point)})`).toContain("Found an interrupted apply");
      expect(await held(), `round ${round}`).toEqual({ alpha: keysOf(a), beta: keysOf(b) });
      expect(await lockHeld(dir)).toBe(false);
    }
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  }, 240_000);
});
