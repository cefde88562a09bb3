import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STACK_FRAME, withoutProgress } from "../helpers/cli.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { ROAD_BATCH, ROAD_PREPARE, SECRET_ENV, SUITE_CASES, applyProjectFor, brazeByName, cohoVia, ids, isMembershipRequest, keysOf, queryState, stateUrl, warehouseUrl, writeMembers } from "../helpers/apply-project.js";

const start = emulators();

const lockfile = (dir: string) => JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { serial: number; lineage: string; cohorts: Record<string, { members: { count: number } }> };

// Every test runs apply through the binary and through the library's apply(), on the
// Cohort Import road; and through the binary on the /users/track road.
describe.each(SUITE_CASES)("coho apply against the emulator (%s state, through the %s, %s road)", (backend, driver, road) => {
  const coho = cohoVia(driver);
  const batch = ROAD_BATCH[road];
  it("creates cohorts with every member, then finds nothing to do, then sends exactly the delta", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(2500));
    writeMembers(dir, "b", ids(10, 50_000));

    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(withoutProgress(first.stderr)).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("Apply complete!");
    expect(await brazeByName(emu, road)).toEqual({ Alpha: keysOf(ids(2500)), Beta: keysOf(ids(10, 50_000)) });
    const log1 = await requestLog(emu);
    // Per cohort: its upsert (cohort road only), then ceil(changes / batch) membership requests;
    // on the attribute road the two cohorts share requests: ceil(distinct changed users / batch).
    expect(log1.filter((r) => r.path.endsWith("/cohorts"))).toHaveLength(2 * ROAD_PREPARE[road]);
    const perRequest = log1.filter(isMembershipRequest).map((r) => r.identifiers);
    expect(perRequest).toHaveLength(road === "cohorts" ? Math.ceil(2500 / batch) + 1 : Math.ceil(2510 / batch));
    expect(perRequest.reduce((n, i) => n! + i!, 0)).toBe(2510);
    expect(Math.max(...perRequest.map(Number))).toBe(batch);
    expect(lockfile(dir).serial).toBe(1);

    const again = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("No changes. Braze cohorts match the configuration.");

    // Remove 3 and add 2 in alpha; beta unchanged.
    const next = [...ids(2500).slice(3), "new-1", "new-2"];
    writeMembers(dir, "a", next);
    const planned = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain("2,500 → 2,499  (+2 / −3)");
    const before = emu.log.total;
    const second = await coho(dir, ["apply", "--auto-approve"]);
    expect(second.code).toBe(0);
    const sent = (await requestLog(emu)).filter((r) => r.seq > before && isMembershipRequest(r));
    expect(sent).toHaveLength(1);
    if (road === "cohorts") {
      expect(sent[0]!.cohort_changes).toEqual([
        { user_ids: ["new-1", "new-2"] },
        { user_ids: ["u00000", "u00001", "u00002"], should_remove: true },
      ]);
    } else {
      const object = (id: string, value: boolean) => ({ external_id: id, _update_existing_only: true, coho_alpha: value });
      expect(sent[0]!.attributes).toEqual([object("new-1", true), object("new-2", true), object("u00000", false), object("u00001", false), object("u00002", false)]);
    }
    expect((await brazeByName(emu, road)).Alpha).toEqual(keysOf(next));
    expect(lockfile(dir).serial).toBe(2);
  });

  it(road === "cohorts" ? "renames a cohort in Braze with one upsert and no membership request" : "renames a cohort without any request (the name lives only in coho)", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(5));
    await coho(dir, ["apply", "--auto-approve"]);
    const yaml = join(dir, "coho.yaml");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("name: Alpha", "name: Alpha renamed"));
    const before = emu.log.total;
    const result = await coho(dir, ["apply", "--auto-approve"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"Alpha" → "Alpha renamed"');
    const sent = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(sent.map((r) => [r.path.split("/").slice(-1)[0], r.name])).toEqual(road === "cohorts" ? [["cohorts", "Alpha renamed"]] : []);
  });

  it("deletes a cohort removed from the config: removes every member, then forgets it", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(1200));
    writeMembers(dir, "b", ids(3));
    await coho(dir, ["apply", "--auto-approve"]);
    const yaml = join(dir, "coho.yaml");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace(/  alpha:\n(    .*\n)+/, ""));
    const plan = await coho(dir, ["plan"]);
    expect(plan.stdout).toContain("- cohorts.alpha (delete)");
    expect(plan.stdout).toContain("1,200 → 0");
    const result = await coho(dir, ["apply", "--auto-approve"]);
    expect(result.code).toBe(0);
    expect((await brazeByName(emu, road)).Alpha).toEqual([]);
    expect(Object.keys(lockfile(dir).cohorts)).toEqual(["cohorts.beta"]);
    const url = stateUrl(dir);
    const warehouse = warehouseUrl(dir);
    if (warehouse) expect(await queryState(warehouse, "SELECT count(*)::int AS n FROM coho_state.snapshot_keys WHERE snapshot LIKE 'redshift:coho-alpha%'")).toEqual([{ n: 0 }]);
    else if (url) expect(await queryState(url, "SELECT count(*)::int AS n FROM coho.snapshot_keys WHERE snapshot LIKE 'pg:coho-alpha%'")).toEqual([{ n: 0 }]);
    else expect(readdirSync(join(dir, ".coho", "snapshots")).filter((f) => f.includes("alpha"))).toEqual([]);
  });

  // Refused before the state or Braze is touched (the binary: stdin is no terminal;
  // the library: no approve callback), so the backend and road play no part: one cell
  // per driver proves it, local state for the binary, PostgreSQL for the library.
  if (road === "cohorts" && (driver === "api" || backend === "local")) it("refuses to run without approval unless told, and says how", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(3));
    const result = await coho(dir, ["apply"]);
    expect(result.code).toBe(1);
    // The binary has no terminal to ask; the library has no approve callback.
    expect(result.stderr).toContain(driver === "binary" ? "no terminal to ask for approval" : "apply() needs approve, autoApprove: true, or a planFile");
    expect(result.stderr).toContain(driver === "binary" ? "--auto-approve" : "autoApprove: true");
    expect(emu.log.total).toBe(0);
    expect(existsSync(join(dir, "coho.lock"))).toBe(false);
  });

  // The guard is the plan's (it reads state, writes none before the override): the
  // state home plays no part beyond the read every other test here makes. One cell per
  // road (the override's removals travel differently) and the library's PostgreSQL cell.
  if (backend === "local" || driver === "api") it("blocks a plan that would empty a cohort, unless --allow-removals", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road, guards: "    guards: { max_removals: 10 }\n" });
    writeMembers(dir, "a", ids(50));
    await coho(dir, ["apply", "--auto-approve"]);
    writeMembers(dir, "a", []);
    const blocked = await coho(dir, ["apply", "--auto-approve"]);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain("Blocked: cohorts.alpha: the model returned no members");
    expect(blocked.stdout).toContain("50 removals exceed max_removals (10)");
    expect(blocked.stdout).toContain("This plan cannot be applied.");
    expect((await brazeByName(emu, road)).Alpha).toHaveLength(50);
    const allowed = await coho(dir, ["apply", "--auto-approve", "--allow-removals"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain("overridden");
    expect((await brazeByName(emu, road)).Alpha).toEqual([]);
  });

  // Faults are met by the HTTP client and the road, the same code under either front
  // end: the binary's cells prove them on each road and state home.
  if (driver === "binary") it("converges despite 30% faults of every kind, lost answers included", async () => {
    // Seed 5 draws every fault kind within the first 42 requests (the fewest this apply makes).
    const emu = await start({ faultRate: 0.3, seed: 5, latencyMs: 200 });
    const dir = await applyProjectFor(backend, emu, { road });
    // The attribute road takes 75 changes a request: fewer members give as many requests.
    const [sizeA, sizeB] = road === "cohorts" ? [30_000, 10_000] : [2400, 750];
    writeMembers(dir, "a", ids(sizeA));
    writeMembers(dir, "b", ids(sizeB, 50_000));
    const result = await coho(dir, ["apply", "--auto-approve", "--json"], { COHO_RETRY_BASE_DELAY_MS: "20" });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { totals: { retries: number; added: number; requests: number } };
    expect(report.totals.added).toBe(sizeA + sizeB);
    // Acknowledged requests are exactly the optimum; faults only add retries.
    expect(report.totals.requests).toBe(2 * ROAD_PREPARE[road] + Math.ceil(sizeA / batch) + Math.ceil(sizeB / batch));
    expect(report.totals.retries).toBeGreaterThan(0);
    const faults = new Set((await requestLog(emu)).map((r) => r.fault).filter(Boolean));
    expect([...faults].sort()).toEqual(["429", "500", "502", "503", "504", "drop_after", "drop_before", "slow"]);
    expect(await brazeByName(emu, road)).toEqual({ Alpha: keysOf(ids(sizeA)), Beta: keysOf(ids(sizeB, 50_000)) });
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code).toBe(0);
    // On the attribute road every request's additions are also read back (missing_profiles: wait), through the same faults.
  }, 150_000);

  // What is reported is each road's and each front end's (the binary prints, the
  // library returns a report); what is recorded is the fold every crash round checks
  // on every state home. So: each road through the binary on local state, and the library.
  if (backend === "local" || driver === "api") it("reports a cohort that keeps failing, carries on with the others, and records only what was acknowledged", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(10));
    writeMembers(dir, "b", ids(10, 100));
    await coho(dir, ["apply", "--auto-approve"]);
    writeMembers(dir, "a", ids(20));
    writeMembers(dir, "b", ids(20, 100));
    // Lock the workspace: every request gets 423 until released.
    await fetch(`${emu.url}/_emulator/config`, { method: "POST", body: JSON.stringify({ locked: true }) });
    const failed = await coho(dir, ["apply", "--auto-approve"], { COHO_RETRY_MAX_ATTEMPTS: "2" });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("FAILED");
    expect(failed.stdout).toContain("Resource locked");
    expect(failed.stdout).not.toMatch(STACK_FRAME);
    expect(lockfile(dir).cohorts["cohorts.alpha"]!.members.count).toBe(10);
    await fetch(`${emu.url}/_emulator/config`, { method: "POST", body: JSON.stringify({ locked: false }) });
    const plan = await coho(dir, ["plan"]);
    expect(plan.stdout).toContain("+10 / −0");
    const fixed = await coho(dir, ["apply", "--auto-approve"]);
    expect(fixed.code).toBe(0);
    expect(await brazeByName(emu, road)).toEqual({ Alpha: keysOf(ids(20)), Beta: keysOf(ids(20, 100)) });
  });

  if (backend === "postgres") it("keeps coho.lock as the database's mirror, and refuses when they disagree", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(5));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const mirror = lockfile(dir);
    const stored = (await queryState(stateUrl(dir)!, "SELECT doc FROM coho.state"))[0].doc as { serial: number; lineage: string };
    expect([mirror.serial, mirror.lineage]).toEqual([stored.serial, stored.lineage]);
    // A fresh runner without .coho/ plans fine: everything is in the database.
    const { rmSync, writeFileSync } = await import("node:fs");
    rmSync(join(dir, ".coho"), { recursive: true, force: true });
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
    writeFileSync(join(dir, "coho.lock"), readFileSync(join(dir, "coho.lock"), "utf8").replace(mirror.lineage, "00000000-0000-4000-8000-000000000000"));
    const refused = await coho(dir, ["plan"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("disagrees with the state database");
  });

  it("never writes a secret to output, report, journal, lockfile or snapshots", async () => {
    // Faults of every kind, so secrets meet every error path; slow answers take 200 ms,
    // not the emulator's 3 s default: what is asserted is where secrets go, not timing.
    const emu = await start({ faultRate: 0.3, seed: 3, latencyMs: 200 });
    const dir = await applyProjectFor(backend, emu, { road });
    writeMembers(dir, "a", ids(1500));
    const results = [await coho(dir, ["apply", "--auto-approve", "--json"]), await coho(dir, ["plan", "--json"]), await coho(dir, ["plan", "--markdown"])];
    const url = stateUrl(dir);
    const warehouse = warehouseUrl(dir);
    const files = [join(dir, "coho.lock")];
    if (warehouse) expect(await queryState(warehouse, "SELECT count(*)::int AS n FROM coho_state.snapshot_keys WHERE key LIKE '%emulator-%'")).toEqual([{ n: 0 }]);
    else if (!url) files.push(...readdirSync(join(dir, ".coho", "snapshots")).map((f) => join(dir, ".coho", "snapshots", f)));
    if (existsSync(join(dir, ".coho", "journal.jsonl"))) files.push(join(dir, ".coho", "journal.jsonl"));
    const stored = url
      ? JSON.stringify([
          await queryState(url, "SELECT doc FROM coho.state"),
          await queryState(url, "SELECT record FROM coho.journal"),
          await queryState(url, "SELECT info FROM coho.lock_holder"),
          (await queryState(url, "SELECT count(*)::int AS n FROM coho.snapshot_keys WHERE key LIKE '%emulator-%'"))[0],
        ])
      : "";
    if (url) expect(stored).toContain('{"n":0}');
    const everything = [stored, ...results.flatMap((r) => [r.stdout, r.stderr]), ...files.map((f) => readFileSync(f).toString("latin1"))].join("\n");
    for (const secret of Object.values(SECRET_ENV)) expect(everything).not.toContain(secret);
  });
});
