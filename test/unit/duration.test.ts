import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DURATION_PATTERN, formatDuration, parseDuration } from "../../src/model/duration.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

describe("one duration grammar", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["10m", 600_000],
    ["1h30m", 5_400_000],
    ["1m30s", 90_000],
    ["1.5s", 1500],
    ["2h0m5s250ms", 7_205_250],
    ["0", 0],
  ])("%s = %i ms", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each(["30", "1.5", "", "s", "30x", "10m1h", "5s5s", "-1s", "1 h"])("refuses %j with the hint", (text) => {
    const result = parseDuration(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain("500ms, 30s, 10m, 1h30m");
  });

  it("says a bare number has no unit", () => {
    const result = parseDuration("30");
    expect(!result.ok && result.message).toMatch(/"30" has no unit/);
  });

  it("formats largest units first and round-trips", () => {
    for (const ms of [0, 1, 999, 1000, 61_000, 5_400_000, 7_205_250]) {
      const text = formatDuration(ms);
      expect(parseDuration(text)).toEqual({ ok: true, ms });
    }
    expect(formatDuration(5_400_000)).toBe("1h30m");
  });

  it("the config schema uses the same grammar", () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schema", "coho.schema.json"), "utf8")) as { $defs: { duration: { pattern: string } } };
    expect(schema.$defs.duration.pattern).toBe(DURATION_PATTERN);
    const pattern = new RegExp(DURATION_PATTERN);
    for (const text of ["500ms", "30s", "1h30m", "0", "1.5s", "30", "10m1h", "", "abc"]) {
      expect(pattern.test(text), text).toBe(parseDuration(text).ok);
    }
  });
});
