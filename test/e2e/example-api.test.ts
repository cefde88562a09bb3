import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXAMPLES } from "../helpers/fixtures.js";

describe("examples/api/apply-quickstart.mjs", () => {
  it("plans and applies the quickstart through the library and prints the report", async () => {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(EXAMPLES, "api", "apply-quickstart.mjs")], { env: { PATH: process.env.PATH ?? "" } });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", (exit) => resolve({ code: exit, out }));
    });
    expect(code, out).toBe(0);
    expect(out).toContain("Plan: 2 to create, +49 / −0 members.");
    expect(out).toContain("cohorts.newsletter_readers: done");
    expect(out).toContain("Outcome: applied");
    const report = JSON.parse(out.slice(out.indexOf("{"))) as { format: string; success: boolean; totals: { added: number } };
    expect(report).toMatchObject({ format: "coho-apply-report", success: true, totals: { added: 49 } });
    expect(out).not.toContain("emulator-data-import-key");
  });
});
