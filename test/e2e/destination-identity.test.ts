import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulators } from "../helpers/emulator.js";
import { STACK_FRAME } from "../helpers/cli.js";
import { writeProject } from "../helpers/project.js";
import { SECRET_ENV, applyProject, brazeByName, coho, ids, keysOf, writeMembers } from "../helpers/apply-project.js";

const start = emulators();
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")) as { cohorts: Record<string, { destination_identity?: string; members: { count: number } }> };

describe("destination identity", () => {
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
    expect(plan.stdout).toMatch(/1,500 → 1,500 {2}\(\+1,500 \/ −0\)/);

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

/** Two braze_attributes destinations on one endpoint (spelled with and without a trailing slash), one cohort each; `extra`: lines for the second. */
function twoDestinations(url: string, secondKey: string, bindings: [string, string], extra = ""): string {
  return writeProject({
    "coho.yaml": `version: 1
destinations:
  braze:
    type: braze_attributes
    rest_endpoint: ${url}
    api_key: \${env:BRAZE_REST_API_KEY}
  braze_again:
    type: braze_attributes
    rest_endpoint: ${url}/
    api_key: \${env:${secondKey}}
${extra}models:
  a:
    sql: |
      select user_id from read_csv('members_a.csv', columns = {'user_id': 'VARCHAR'})
  b:
    sql: |
      select user_id from read_csv('members_b.csv', columns = {'user_id': 'VARCHAR'})
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  alpha:
    name: Alpha
    destination: braze
    model: a
    identifier: user_id
    attribute: ${bindings[0]}
  beta:
    name: Beta
    destination: braze_again
    model: b
    identifier: user_id
    attribute: ${bindings[1]}
`,
    "members_a.csv": "user_id\nu1\nu2\n",
    "members_b.csv": "user_id\nu2\nu3\n",
  });
}

describe("attribute sharing is judged per Braze workspace, not per destination name", () => {
  it("refuses two destinations of one endpoint and key writing one boolean attribute, located; other keys are other workspaces", async () => {
    const emu = await start();
    // The same key through the same variable, and the same key through another variable: one workspace.
    for (const [secondKey, env] of [["BRAZE_REST_API_KEY", {}], ["BRAZE_KEY_AGAIN", { BRAZE_KEY_AGAIN: SECRET_ENV.BRAZE_REST_API_KEY }]] as const) {
      const dir = twoDestinations(emu.url, secondKey, ["coho_vip", "coho_vip"]);
      const result = await coho(dir, ["validate"], env);
      expect(result.code, result.stdout + result.stderr).toBe(1);
      const output = result.stdout + result.stderr;
      expect(output).toContain("config.attribute_shared");
      expect(output).toContain("cohorts.beta writes the boolean attribute coho_vip, which cohorts.alpha writes already (destinations braze and braze_again reach one Braze workspace: the same rest_endpoint and api_key)");
      expect(output).toMatch(/coho\.yaml:\d+:\d+/);
      expect(output).not.toContain(SECRET_ENV.BRAZE_REST_API_KEY);
      expect(output).not.toMatch(STACK_FRAME);
    }
    // Another key on the same endpoint is another workspace (Braze hosts many per endpoint): allowed.
    const other = twoDestinations(emu.url, "BRAZE_KEY_AGAIN", ["coho_vip", "coho_vip"]);
    const allowed = await coho(other, ["validate"], { BRAZE_KEY_AGAIN: "another-workspace-key" });
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
  });

  it("counts the array cap over every destination of the workspace", async () => {
    const emu = await start();
    const dir = twoDestinations(emu.url, "BRAZE_REST_API_KEY", ["{ name: coho_cohorts, value: alpha }", "{ name: coho_cohorts, value: beta }"], "    max_array_values: 1\n");
    // u2 is in both cohorts: two values of coho_cohorts on one profile, over the cap of one.
    const blocked = await coho(dir, ["plan"]);
    expect(blocked.code, blocked.stdout + blocked.stderr).toBe(1);
    expect(blocked.stdout).toContain("max_array_values BLOCKED: array attribute coho_cohorts of destination braze and braze_again would hold up to 2 coho values for one user, over max_array_values 1");
    const applied = await coho(dir, ["apply", "--auto-approve"]);
    expect(applied.code).toBe(1);
    expect(emu.log.total).toBe(0);
  });
});
