import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DiagnosticsError, plan, validate } from "../../src/index.js";
import { EXAMPLES, FIXTURES } from "../helpers/fixtures.js";

describe("programmatic API", () => {
  it("validate() returns the project and diagnostics", () => {
    expect(validate(join(EXAMPLES, "quickstart"), {}).project?.cohorts.size).toBe(2);
    expect(validate(join(FIXTURES, "invalid", "cohort-unknown-model"), {}).diagnostics[0]?.code).toBe("config.unknown_reference");
  });

  it("plan() returns the plan as data, and throws DiagnosticsError for a bad config", async () => {
    // A copy: the quickstart end-to-end test applies the example in place, in parallel.
    const dir = mkdtempSync(join(tmpdir(), "coho-api-"));
    cpSync(join(EXAMPLES, "quickstart"), dir, { recursive: true, filter: (src) => !src.includes(".coho") && !src.endsWith("coho.lock") });
    const result = await plan(dir, { env: {} });
    expect(result.format).toBe("coho-plan");
    expect(result.summary.members_add).toBe(49);
    await expect(plan(join(FIXTURES, "invalid", "cohort-unknown-model"), { env: {} })).rejects.toBeInstanceOf(DiagnosticsError);
  });
});
