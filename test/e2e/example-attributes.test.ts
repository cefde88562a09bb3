import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXAMPLES } from "../helpers/fixtures.js";
import { freePort } from "../helpers/postgres-cluster.js";

const example = join(EXAMPLES, "attributes");

function runExample(port: number, args: string[] = []): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    // PATH and a free emulator port only: the REST API key comes from the example's .env, as for a user.
    const child = spawn(process.execPath, [join(example, "run.mjs"), ...args], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", COHO_EMULATOR_PORT: String(port) } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

afterAll(() => {
  rmSync(join(example, "coho.lock"), { force: true });
  rmSync(join(example, ".coho"), { recursive: true, force: true });
});

describe("the /users/track example of docs/braze-roads.md (npm run example:attributes)", () => {
  it("plans, applies and verifies with only a REST API key, then finds nothing more to do", async () => {
    const port = await freePort();
    const first = await runExample(port, ["--reset"]);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain("Plan: 6 to create, 0 to update, 0 to delete, 0 to move. Members: +97 / −0.");
    // All six cohorts of the destination share requests, one object per user (fewer than 75 users):
    // 1 request. Updates: one per (user, attribute): coho_cohorts 49 users (recent_buyers + newsletter),
    // coho_order_months 27 (distinct users of the three months' 40 changes), coho_vip 8.
    expect(first.out).toContain("Cost: 1 request · 84 attribute updates");
    expect(first.out).toContain("Apply complete!");
    expect(first.out).toContain("No drift found.");
    expect(first.out).toContain('coho_cohorts includes "newsletter": 28 users');
    expect(first.out).toContain("coho_vip = true: 8 users");
    // The cohort set: one value per order month in one shared array attribute.
    expect(first.out).toContain('coho_order_months includes "2026-10": 17 users');
    const second = await runExample(port);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain("No changes.");
    expect(second.out).toContain('coho_cohorts includes "recent_buyers": 21 users');
  });
});
