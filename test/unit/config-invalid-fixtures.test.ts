import { readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProject } from "../../src/config/load-project.js";
import { fixtureDirs } from "../helpers/fixtures.js";

interface Expected {
  errors: { file: string; line: number; column: number; message: string }[];
}

const dirs = fixtureDirs("invalid");

describe("invalid configurations", () => {
  it("has at least 30 fixtures", () => {
    expect(dirs.length).toBeGreaterThanOrEqual(30);
  });

  for (const dir of dirs) {
    it(`${basename(dir)}: reports the exact location and message`, () => {
      const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as Expected;
      const result = loadProject(dir, { env: {} });
      expect(result.project).toBeUndefined();
      const errors = result.diagnostics
        .filter((d) => d.severity === "error")
        .map((d) => ({
          file: d.location ? relative(dir, d.location.file) : undefined,
          line: d.location?.line,
          column: d.location?.column,
          message: d.message,
        }));
      expect(errors).toEqual(expected.errors);
    });
  }
});
