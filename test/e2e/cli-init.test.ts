import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/fixtures.js";

const SCAFFOLD = ["coho.yaml", "coho.schema.json", "models/active_users.sql", "data/users.csv", ".env.example", ".env"];

describe("coho init", () => {
  it("scaffolds a project that validates at once", async () => {
    const parent = mkdtempSync(join(tmpdir(), "coho-init-"));
    const init = await runCli(["init", "my-cohorts"], { cwd: parent });
    expect(init.code).toBe(0);
    const dir = join(parent, "my-cohorts");
    for (const file of SCAFFOLD) expect(existsSync(join(dir, file)), file).toBe(true);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe(".env\n.coho/\n");
    // The schema hint points inside the project (a committed copy), so every teammate's editor finds it.
    const hint = /\$schema=(\S+)/.exec(readFileSync(join(dir, "coho.yaml"), "utf8"))?.[1];
    expect(hint).toBe("./coho.schema.json");
    expect(readFileSync(join(dir, hint!), "utf8")).toBe(readFileSync(join(REPO_ROOT, "schema", "coho.schema.json"), "utf8"));
    const validate = await runCli(["validate"], { cwd: dir });
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain("The configuration is valid.");
  });

  it("refuses to overwrite anything, and writes nothing then", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coho-init-"));
    writeFileSync(join(dir, "coho.yaml"), "mine\n");
    const result = await runCli(["init", dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("refusing to overwrite existing files");
    expect(result.stderr).toContain("coho.yaml");
    expect(readFileSync(join(dir, "coho.yaml"), "utf8")).toBe("mine\n");
    expect(existsSync(join(dir, ".env"))).toBe(false);
    expect(existsSync(join(dir, "models"))).toBe(false);
  });

  it("adds the ignore entries to an existing .gitignore without rewriting it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coho-init-"));
    writeFileSync(join(dir, ".gitignore"), "node_modules\n.env");
    const result = await runCli(["init"], { cwd: dir });
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe("node_modules\n.env\n.coho/\n");
  });
});
