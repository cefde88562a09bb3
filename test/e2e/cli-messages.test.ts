import { spawn } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { COHO_BIN } from "../helpers/cli.js";
import { emulator } from "../helpers/emulator.js";
import { SECRET_ENV, applyProject, coho, ids, lockHeld, writeMembers } from "../helpers/apply-project.js";

/**
 * Output that never contradicts itself: errors are not followed by "No changes", running work
 * is not called interrupted, failures print their hint and a JSON report.
 */
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await emulator();
});
afterAll(async () => emu.close());

function project(): string {
  const dir = applyProject(emu);
  writeMembers(dir, "a", ids(5));
  writeMembers(dir, "b", ids(3, 50));
  return dir;
}

describe("messages that agree with what happened", () => {
  it("an unknown --target is an error and never 'No changes'", async () => {
    const result = await coho(project(), ["plan", "--target", "cohorts.nope"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("--target cohorts.nope: no such cohort");
    expect(result.stdout).not.toContain("No changes");
    expect(result.stdout).toContain("Planning failed: 1 error; nothing was compared.");
  });

  it("plan --out into a missing folder fails first, before any planning", async () => {
    const dir = project();
    const result = await coho(dir, ["plan", "--out", join(dir, "nope", "plan.coho")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot save the plan to ${join(dir, "nope", "plan.coho")}: the folder ${join(dir, "nope")} does not exist`);
    expect(result.stderr).not.toMatch(/internal error|ENOENT/);
    expect(result.stdout).toBe("");
  });

  it("a blocked plan saved with --out says it cannot be applied", async () => {
    const dir = applyProject(emu, { guards: "    guards: { max_removals: 1 }\n" });
    writeMembers(dir, "a", ids(5));
    writeMembers(dir, "b", ids(3, 50));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    writeMembers(dir, "a", ids(1));
    const result = await coho(dir, ["plan", "--out", join(dir, "p.coho")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("it cannot be applied");
    expect(result.stderr).not.toContain("apply exactly it");
  });

  it("a new cohort's id is '(known after apply)' in a live plan; a saved plan shows the id apply then uses", async () => {
    const dir = project();
    const live = await coho(dir, ["plan"]);
    expect(live.stdout).toMatch(/cohort_id:\s+\(known after apply\)/);
    const json = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as { cohorts: { after: { cohort_id: string | null } }[] };
    expect(json.cohorts.every((c) => c.after.cohort_id === null)).toBe(true);
    const saved = await coho(dir, ["plan", "--out", join(dir, "p.coho")]);
    const shown = [...saved.stdout.matchAll(/cohort_id:\s+(coho-\S+)/g)].map((m) => m[1]).sort();
    expect(shown).toHaveLength(2);
    expect((await coho(dir, ["apply", join(dir, "p.coho")])).code).toBe(0);
    const lock = JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, { cohort_id: string }> };
    expect(Object.values(lock.cohorts).map((c) => c.cohort_id).sort()).toEqual(shown);
  });

  it("state list after every cohort was deleted does not say nothing was applied", async () => {
    const dir = project();
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const yaml = readFileSync(join(dir, "coho.yaml"), "utf8");
    writeFileSync(join(dir, "coho.yaml"), yaml.slice(0, yaml.indexOf("cohorts:")));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const list = await coho(dir, ["state", "list"]);
    expect(list.stdout).toMatch(/The state records no cohorts \(serial \d+\): every cohort was deleted or forgotten\./);
    expect(list.stdout).not.toContain("nothing was applied yet");
  });

  it("a lost .coho/ names every missing snapshot at once", async () => {
    const dir = project();
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    rmSync(join(dir, ".coho"), { recursive: true, force: true });
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/2 snapshots are missing: cohorts\.alpha \(.+\), cohorts\.beta \(.+\)/);
  });

  it("a refused key: the hint naming the config key and variable, in the output and the JSON report, with the request counted", async () => {
    const dir = project();
    const text = await coho(dir, ["apply", "--auto-approve"], { BRAZE_PARTNER_API_KEY: "wrong-partner-key" });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("hint: check destinations.braze.partner_api_key (environment variable BRAZE_PARTNER_API_KEY)");
    expect(text.stdout).not.toContain("wrong-partner-key");
    const json = await coho(dir, ["apply", "--auto-approve", "--json"], { BRAZE_PARTNER_API_KEY: "wrong-partner-key" });
    const report = JSON.parse(json.stdout) as { success: boolean; cohorts: { status: string; requests: number; hint?: string }[] };
    expect(report.success).toBe(false);
    for (const cohort of report.cohorts) {
      expect(cohort.status).toBe("failed");
      expect(cohort.requests).toBeGreaterThanOrEqual(1);
      expect(cohort.hint).toContain("BRAZE_PARTNER_API_KEY");
    }
  });

  it("plan --json and apply --json with configuration errors print the diagnostics as JSON", async () => {
    const dir = project();
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("model: a", "model: nope"));
    for (const args of [["plan", "--json"], ["apply", "--auto-approve", "--json"]]) {
      const result = await coho(dir, args);
      expect(result.code).toBe(1);
      const json = JSON.parse(result.stdout) as { valid: boolean; diagnostics: { message: string; line: number }[] };
      expect(json.valid).toBe(false);
      expect(json.diagnostics[0]!.message).toContain("no model `nope` is declared");
    }
  });
});

describe("while an apply runs", () => {
  let slow: RunningEmulator;
  beforeAll(async () => {
    slow = await emulator({ faultRate: 1, faultKinds: ["slow"], latencyMs: 6000 });
  });
  afterAll(async () => slow.close());

  it("plan says an apply is running and by whom; apply --json that cannot take the lock still prints a report", async () => {
    const dir = applyProject(slow);
    writeMembers(dir, "a", ids(5));
    writeMembers(dir, "b", ids(3, 50));
    const running = spawn(process.execPath, [COHO_BIN, "-C", dir, "apply", "--auto-approve"], { env: { ...process.env, ...SECRET_ENV }, stdio: "ignore" });
    const finished = new Promise((resolve) => running.on("close", resolve));
    try {
      for (let i = 0; i < 200 && !(await lockHeld(dir)); i++) await new Promise((r) => setTimeout(r, 50));
      // Wait until the first request is journaled, so the journal is not empty.
      for (let i = 0; i < 200; i++) {
        try {
          if (statSync(join(dir, ".coho", "journal.jsonl")).size > 0) break;
        } catch {
          // not yet created
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const plan = await coho(dir, ["plan"]);
      expect(plan.stdout).toMatch(/Warning: an apply is running now, by \S+ \(apply, pid \d+/);
      expect(plan.stdout).not.toContain("was interrupted");
      const second = await coho(dir, ["apply", "--auto-approve", "--json"]);
      expect(second.code).toBe(1);
      const report = JSON.parse(second.stdout) as { success: boolean; state: unknown; cohorts: unknown[]; error: { code: string; message: string } };
      expect(report).toMatchObject({ success: false, state: null, cohorts: [] });
      expect(report.error.code).toBe("state.locked");
    } finally {
      // Nothing is asserted of the running apply itself: stop it rather than wait out
      // its 6 s answers (its folder is temporary).
      running.kill("SIGKILL");
      await finished;
    }
  });
});
