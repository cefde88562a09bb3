import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WAREHOUSE_DRIVERS } from "../../src/sources/load-driver.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

describe("warehouse drivers are optional peer dependencies", () => {
  it("each driver coho loads is an optional peer at the range its install hint names, installed for the tests, never a dependency", () => {
    for (const [name, { range }] of Object.entries(WAREHOUSE_DRIVERS)) {
      expect(pkg.peerDependencies[name], name).toBe(range);
      expect(pkg.peerDependenciesMeta[name]?.optional, name).toBe(true);
      expect(pkg.devDependencies[name], name).toBe(range);
      expect(pkg.dependencies[name], name).toBeUndefined();
    }
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(Object.keys(WAREHOUSE_DRIVERS).sort());
  });
});
