import { describe, expect, it } from "vitest";
import { groupDigits } from "../../src/util/group-digits.js";

describe("groupDigits", () => {
  it("writes integers as toLocaleString('en-US') does, without Intl", () => {
    for (const n of [0, 7, 999, 1000, 12345, 999999, 1000000, 1234567890, -1, -1000, -987654321, Number.MAX_SAFE_INTEGER]) {
      expect(groupDigits(n), String(n)).toBe(n.toLocaleString("en-US"));
    }
  });
  it("leaves non-integers to Intl's rounding", () => {
    expect(groupDigits(1234.5678)).toBe("1,234.568");
  });
});
