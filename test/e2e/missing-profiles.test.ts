import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { STACK_FRAME, runCli } from "../helpers/cli.js";
import { writeProject } from "../helpers/project.js";
import { emulators, postJson, requestLog, userAttributes } from "../helpers/emulator.js";
import { BACKENDS, applyProjectFor, coho, ids, writeMembers, type Backend } from "../helpers/apply-project.js";

const start = emulators();
// Several applies and plans each through the binary: minutes on a loaded machine.
const SLOW = 240_000;

/** A workspace where only `existing` have a profile (update-only writes to anyone else change nothing). */
function workspaceWith(existing: readonly string[]): Promise<RunningEmulator> {
  return start({ users: existing.map((id) => ({ externalId: id, aliases: [], deviceIds: [] })) });
}

/** The attribute-road project with `missing_profiles` set on its destination (undefined: the default). */
async function projectFor(backend: Backend, emu: RunningEmulator, mode?: string): Promise<string> {
  const dir = await applyProjectFor(backend, emu, { road: "attributes" });
  if (mode) {
    const yaml = join(dir, "coho.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("api_key: ${env:BRAZE_REST_API_KEY}", `api_key: \${env:BRAZE_REST_API_KEY}\n    missing_profiles: ${mode}`));
  }
  return dir;
}

interface PlanJson {
  cohorts: { address: string; members: { before: number; after: number; add: number; remove: number }; unconfirmed_last_apply?: number; reason: string; cost: { requests: number; read_back_requests?: number } }[];
}
const alphaOf = (plan: PlanJson) => plan.cohorts.find((c) => c.address === "cohorts.alpha")!;
const trackedKeys = (objects: Record<string, unknown>[]) => objects.map((o) => `external_id:${String(o.external_id)}`).sort();

describe.each(BACKENDS)("members without a Braze profile (%s state)", (backend) => {
  it("wait (the default): only members Braze confirms are recorded; the others stay additions, sent again until their profile exists", async () => {
    // 8 members, of which 2 have a Braze profile.
    const emu = await workspaceWith(ids(2));
    const dir = await projectFor(backend, emu);
    writeMembers(dir, "a", ids(8));
    const planned = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    // Cost: one /users/track request, and its 8 additions read back in one export request.
    expect(alphaOf(planned).cost).toMatchObject({ requests: 1, read_back_requests: 1 });

    const applied = await coho(dir, ["apply", "--auto-approve", "--json"]);
    expect(applied.code, applied.stderr).toBe(0);
    const report = JSON.parse(applied.stdout) as { totals: { added: number; unconfirmed: number }; cohorts: { address: string; added: number; unconfirmed: number; status: string }[] };
    expect(report.totals).toMatchObject({ added: 2, unconfirmed: 6 });
    expect(report.cohorts.find((c) => c.address === "cohorts.alpha")).toMatchObject({ added: 2, unconfirmed: 6, status: "done" });
    // What was sent: 8 update-only objects, then one read-back of the 8.
    const log = await requestLog(emu);
    expect(log.map((r) => r.path)).toEqual(["/users/track", "/users/export/ids"]);
    expect(trackedKeys(log[0]!.attributes as Record<string, unknown>[])).toEqual(ids(8).map((id) => `external_id:${id}`));
    expect((log[0]!.attributes as Record<string, unknown>[]).every((o) => o._update_existing_only === true)).toBe(true);
    expect((await userAttributes(emu, "external_id:u00001")).custom_attributes).toEqual({ coho_alpha: true });
    expect((await userAttributes(emu, "external_id:u00005")).exists).toBe(false);

    // State holds the 2 confirmed members; the next plan is not "No changes" while 6 are unconfirmed.
    const next = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(next.code, next.stdout + next.stderr).toBe(2);
    expect(next.stdout).not.toContain("No changes");
    expect(next.stdout).toContain("6 member(s) sent last apply, not confirmed in Braze (no profile yet): sent again");
    const again = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    expect(alphaOf(again)).toMatchObject({ members: { before: 2, after: 8, add: 6, remove: 0 }, unconfirmed_last_apply: 6 });

    // u00002 signs up; the next apply sends the 6 again and records the one Braze now knows.
    expect((await postJson(`${emu.url}/_emulator/users/${encodeURIComponent("external_id:u00002")}`, { custom_attributes: { plan: "free" } })).status).toBe(200);
    const before = emu.log.total;
    const second = JSON.parse((await coho(dir, ["apply", "--auto-approve", "--json"])).stdout) as { totals: { added: number; unconfirmed: number } };
    expect(second.totals).toMatchObject({ added: 1, unconfirmed: 5 });
    const resent = (await requestLog(emu)).filter((r) => r.seq > before && r.path === "/users/track");
    expect(trackedKeys(resent.flatMap((r) => r.attributes as Record<string, unknown>[]))).toEqual(ids(6, 2).map((id) => `external_id:${id}`));
    expect((await userAttributes(emu, "external_id:u00002")).custom_attributes).toEqual({ plan: "free", coho_alpha: true });
    const third = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as PlanJson;
    expect(alphaOf(third)).toMatchObject({ members: { before: 3, add: 5 }, unconfirmed_last_apply: 5 });

    // Once every member is confirmed, and only then, the plan says "No changes".
    for (const id of ids(5, 3)) await postJson(`${emu.url}/_emulator/users/${encodeURIComponent(`external_id:${id}`)}`, { custom_attributes: {} });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const done = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(done.code, done.stdout).toBe(0);
    expect(done.stdout).toContain("No changes");
  }, SLOW);

  it("ignore: every acknowledged addition is recorded (sent, not confirmed); verify then finds them absent in Braze", async () => {
    const emu = await workspaceWith(ids(2));
    const dir = await projectFor(backend, emu, "ignore");
    writeMembers(dir, "a", ids(8));
    const applied = JSON.parse((await coho(dir, ["apply", "--auto-approve", "--json"])).stdout) as { totals: { added: number; unconfirmed: number } };
    expect(applied.totals).toMatchObject({ added: 8, unconfirmed: 0 });
    expect((await requestLog(emu)).map((r) => r.path)).toEqual(["/users/track"]);
    // Today's behaviour, named: state says 8, the plan says "No changes", Braze holds 2.
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
    const verified = await coho(dir, ["verify"]);
    expect(verified.code).toBe(2);
    expect(verified.stdout).toContain("absent in Braze: 6");
    expect(verified.stdout).toContain("never created (missing_profiles: ignore records unconfirmed members), or deleted since");
    expect(verified.stdout).not.toContain("deleted: 6");
    const report = JSON.parse((await coho(dir, ["verify", "--json"])).stdout) as { format_version: string; cohorts: { address: string; reasons: Record<string, number> }[] };
    expect(report.format_version).toBe("1.1");
    expect(report.cohorts.find((c) => c.address === "cohorts.alpha")!.reasons).toEqual({ changed: 0, absent: 6, evicted: 0, deleted: 6 });
  }, SLOW);

  it("create: Braze creates a profile for each external id, so every member is recorded", async () => {
    const emu = await workspaceWith(ids(2));
    const dir = await projectFor(backend, emu, "create");
    writeMembers(dir, "a", ids(8));
    const applied = JSON.parse((await coho(dir, ["apply", "--auto-approve", "--json"])).stdout) as { totals: { added: number; unconfirmed: number } };
    expect(applied.totals).toMatchObject({ added: 8, unconfirmed: 0 });
    const log = await requestLog(emu);
    expect(log.map((r) => r.path)).toEqual(["/users/track"]);
    expect((log[0]!.attributes as Record<string, unknown>[]).every((o) => o._update_existing_only === false)).toBe(true);
    expect(await userAttributes(emu, "external_id:u00007")).toEqual({ key: "external_id:u00007", exists: true, custom_attributes: { coho_alpha: true } });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  }, SLOW);
});

describe("missing_profiles in the configuration", () => {
  it("refuses create for an alias identifier, and a contradicting update_existing_only, each located", async () => {
    const emu = await start();
    const dir = await projectFor("local", emu, "create");
    const yaml = join(dir, "coho.yaml");
    const text = readFileSync(yaml, "utf8");
    writeFileSync(yaml, text.replace("user_id: { type: external_id, column: user_id }", "user_id: { type: alias, label: email, column: user_id }"));
    const alias = await coho(dir, ["validate"]);
    expect(alias.code).toBe(1);
    expect(alias.stdout + alias.stderr).toContain("config.missing_profiles_alias");
    expect(alias.stdout + alias.stderr).toContain("cohorts.alpha: identifier user_id is an alias, and destination braze has missing_profiles: create");
    expect(alias.stdout + alias.stderr).toMatch(/coho\.yaml:\d+:\d+/);
    expect(alias.stdout + alias.stderr).not.toMatch(STACK_FRAME);

    writeFileSync(yaml, text.replace("missing_profiles: create", "missing_profiles: create\n    update_existing_only: true"));
    const conflict = await coho(dir, ["validate"]);
    expect(conflict.code).toBe(1);
    expect(conflict.stdout + conflict.stderr).toContain("destinations.braze: update_existing_only: true contradicts missing_profiles: create");
    expect(conflict.stdout + conflict.stderr).toMatch(/coho\.yaml:\d+:\d+/);

    writeFileSync(yaml, text.replace("missing_profiles: create", "missing_profiles: sometimes"));
    const bad = await coho(dir, ["validate"]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toContain("destinations.braze.missing_profiles must be one of `wait`, `create`, `ignore`");
  }, SLOW);
});

describe("the cost of confirming additions", () => {
  /** A first load of `members` members on the attribute road; nothing is sent by plan. */
  const firstLoad = (members: number, mode?: string) =>
    writeProject({
      "coho.yaml": `version: 1
destinations:
  braze:
    type: braze_attributes
    rest_endpoint: http://127.0.0.1:9
    api_key: \${env:BRAZE_REST_API_KEY}${mode ? `\n    missing_profiles: ${mode}` : ""}
models:
  m:
    sql: select 'u' || i as user_id from range(${members}) t(i)
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: Everyone, destination: braze, model: m, identifier: user_id, attribute: coho_everyone }
`,
    });
  const plan = (dir: string) => runCli(["plan", "--no-color"], { cwd: dir, env: { BRAZE_REST_API_KEY: "k" }, timeoutMs: 120_000 });

  it("warns when wait's read-backs (250 a minute) take an hour or more, naming the other choices; not below that, nor under ignore", async () => {
    // 600,000 additions: 8,000 requests of 75, each read back in 2 exports (50 + 25): 16,000 exports, 64 min at 250/min.
    const big = await plan(firstLoad(600_000));
    expect(big.code, big.stderr).toBe(0);
    expect(big.stdout).toContain("Warning: confirming additions takes 16,000 read-back requests (/users/export/ids, 250 a minute): about 1h4m of this apply.");
    expect(big.stdout).toContain("missing_profiles: ignore skips the read-back");
    // 525,000: 7,000 requests, 14,000 exports, 56 min: the cost line says it, no warning.
    const below = await plan(firstLoad(525_000));
    expect(below.stdout).toContain("14,000 read-back requests");
    expect(below.stdout).not.toContain("Warning: confirming additions");
    const ignore = await plan(firstLoad(600_000, "ignore"));
    expect(ignore.stdout).not.toContain("read-back");
  }, SLOW);
});
