import { describe, expect, it } from "vitest";
import { PROBE_COHORT_ID } from "../../src/destinations/braze-cohorts/probe-credentials.js";
import type { CheckReport } from "../../src/operations/check.js";
import { STACK_FRAME } from "../helpers/cli.js";
import { emulators, getJson, requestLog } from "../helpers/emulator.js";
import { BACKENDS, applyProjectFor, coho } from "../helpers/apply-project.js";

const start = emulators();

describe.each(BACKENDS)("coho check (%s state)", (backend) => {
  it("proves destination, source and state with one no-op request that leaves nothing in Braze", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu);
    const result = await coho(dir, ["check"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok\s+destination\s+braze\s+http:\/\/127\.0\.0\.1:\d+ partner coho-emulator\s+Cohort Import accepted both keys/m);
    expect(result.stdout).toMatch(/^ok\s+source\s+duckdb\s+in-memory DuckDB\s+connected; SELECT 1 answered/m);
    expect(result.stdout).toMatch(new RegExp(`^ok\\s+state\\s+${backend}\\s+.*readable; nothing applied yet`, "m"));
    expect(result.stdout).toContain("All 3 checks passed.");
    const log = await requestLog(emu);
    expect(log.map((r) => [r.path, r.status, r.cohort_id, r.cohort_changes])).toEqual([["/partners/coho-emulator/cohorts/users", 200, PROBE_COHORT_ID, []]]);
    expect((await getJson<{ cohorts: unknown[] }>(`${emu.url}/_emulator/cohorts`)).cohorts).toEqual([]);

    const json = JSON.parse((await coho(dir, ["check", "--json"])).stdout) as CheckReport;
    expect(json.ok).toBe(true);
    expect(json.results.map((r) => [r.kind, r.name, r.ok])).toEqual([["destination", "braze", true], ["source", "duckdb", true], ["state", backend, true]]);
  });

  it("fails on a wrong key with Braze's message and a hint naming the config key and variable, never the key", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu);
    const wrongImport = "wrong-data-import-key-7f3a9c";
    const result = await coho(dir, ["check"], { BRAZE_DATA_IMPORT_KEY: wrongImport });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED\s+destination\s+braze/m);
    expect(result.stdout).toContain("Braze answered HTTP 401: Invalid client secret");
    expect(result.stdout).toContain("hint: check destinations.braze.data_import_key (environment variable BRAZE_DATA_IMPORT_KEY)");
    expect(result.stdout).toContain("1 of 3 checks failed.");
    const wrongPartnerKey = "wrong-partner-key-55aa11";
    const partner = await coho(dir, ["check"], { BRAZE_PARTNER_API_KEY: wrongPartnerKey });
    expect(partner.code).toBe(1);
    expect(partner.stdout).toContain("check destinations.braze.partner_api_key (environment variable BRAZE_PARTNER_API_KEY)");
    for (const output of [result.stdout, result.stderr, partner.stdout, partner.stderr]) {
      expect(output).not.toContain(wrongImport);
      expect(output).not.toContain(wrongPartnerKey);
      expect(output).not.toMatch(STACK_FRAME);
    }
  });

  it("fails on an unset key without sending anything, naming the variable", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu);
    const result = await coho(dir, ["check", "--json"], { BRAZE_PARTNER_API_KEY: "" });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.results[0]).toMatchObject({ kind: "destination", ok: false, detail: "destinations.braze.partner_api_key is not available: environment variable BRAZE_PARTNER_API_KEY is not set" });
    expect(report.results[0]!.hint).toContain("set BRAZE_PARTNER_API_KEY");
    expect(emu.log.total).toBe(0);
  });

  it("fails on an unreachable host with a hint at rest_endpoint", async () => {
    const emu = await start();
    const dir = await applyProjectFor(backend, emu);
    await emu.close();
    const result = await coho(dir, ["check", "--timeout", "2s"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED\s+destination\s+braze/m);
    expect(result.stdout).toContain(`hint: check destinations.braze.rest_endpoint: is ${emu.url} reachable from here?`);
    expect(result.stdout).toMatch(/^ok\s+source/m);
  });
});

describe("coho check (postgres state)", () => {
  it("fails when the state database cannot be reached, without printing its password", async () => {
    const emu = await start();
    const dir = await applyProjectFor("postgres", emu);
    const result = await coho(dir, ["check"], { COHO_STATE_URL: "postgres://coho:hunter2-state-pw@127.0.0.1:1/nowhere" });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ok\s+destination/m);
    expect(result.stdout).toMatch(/^FAILED\s+state\s+postgres/m);
    expect(result.stdout).toContain("check the URL in environment variable COHO_STATE_URL");
    expect(`${result.stdout}${result.stderr}`).not.toContain("hunter2-state-pw");
  });
});
