import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXAMPLES } from "../helpers/fixtures.js";
import { freePort } from "../helpers/postgres-cluster.js";

const quickstart = join(EXAMPLES, "quickstart");

/** The example on `port` (COHO_EMULATOR_PORT): a free one, never the default another checkout may use. */
function runQuickstart(port: number, args: string[] = []): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(quickstart, "run.mjs"), ...args], { env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", COHO_EMULATOR_PORT: String(port) } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code, out }));
  });
}

afterAll(() => {
  // coho.lock and .coho/ are git-ignored; leave the example as it was cloned.
  rmSync(join(quickstart, "coho.lock"), { force: true });
  rmSync(join(quickstart, ".coho"), { recursive: true, force: true });
});

describe("the first command of README and getting started (npm run quickstart)", () => {
  it("plans and applies the quickstart against the emulator, then finds nothing more to do", async () => {
    const port = await freePort();
    const first = await runQuickstart(port, ["--reset"]);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain("Plan: 2 to create, 0 to update, 0 to delete, 0 to move. Members: +49 / −0.");
    expect(first.out).toContain("Apply complete!");
    expect(first.out).toMatch(/Newsletter readers \(coho-newsletter-readers-\w+\): 28 members/);
    expect(first.out).toMatch(/Recent buyers \(since October\) \(coho-recent-buyers-\w+\): 21 members/);
    const second = await runQuickstart(port);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain("No changes. Braze cohorts match the configuration.");
    expect(second.out).toMatch(/Newsletter readers \(coho-newsletter-readers-\w+\): 28 members/);
  });
});
