import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators } from "../helpers/emulator.js";
import { SECRET_ENV, applyProject, brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";

const start = emulators();
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, { destination_identity?: string; members: { count: number } }> };

describe("destination identity (issue 14 item 3)", () => {
  it("is recorded per cohort without secrets; a changed endpoint behind the same name is a re-target", async () => {
    const first = await start();
    const second = await start();
    const dir = applyProject(first);
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace(`rest_endpoint: ${first.url}`, "rest_endpoint: ${env:BRAZE_URL}"));
    writeMembers(dir, "a", ids(1500));
    expect((await coho(dir, ["apply", "--auto-approve"], { BRAZE_URL: first.url })).code).toBe(0);
    const lockText = readFileSync(join(dir, "coho.lock"), "utf8");
    expect(lockOf(dir).cohorts["cohorts.alpha"]!.destination_identity).toBe(`braze_cohorts ${first.url} partner=coho-emulator`);
    for (const secret of Object.values(SECRET_ENV)) expect(lockText).not.toContain(secret);

    // Same config text, another workspace: before the fix this planned "No changes".
    const plan = await coho(dir, ["plan", "--detailed-exitcode"], { BRAZE_URL: second.url });
    expect(plan.code, plan.stdout + plan.stderr).toBe(2);
    expect(plan.stdout).toContain(`destination braze now reaches braze_cohorts ${second.url} partner=coho-emulator (state: braze_cohorts ${first.url} partner=coho-emulator): re-target`);
    expect(plan.stdout).toMatch(/1500 → 1500 {2}\(\+1500 \/ −0\)/);

    const applied = await coho(dir, ["apply", "--auto-approve"], { BRAZE_URL: second.url });
    expect(applied.code, applied.stderr).toBe(0);
    // The new workspace got the whole membership, not only a delta; the old one was not touched.
    expect((await brazeByName(second)).Alpha).toEqual(keysOf(ids(1500)));
    expect((await brazeByName(first)).Alpha).toEqual(keysOf(ids(1500)));
    expect(lockOf(dir).cohorts["cohorts.alpha"]!.destination_identity).toBe(`braze_cohorts ${second.url} partner=coho-emulator`);
    const after = await coho(dir, ["plan", "--detailed-exitcode"], { BRAZE_URL: second.url });
    expect(after.code).toBe(0);
  });
});
