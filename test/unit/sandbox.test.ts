import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { projectSandbox } from "../../src/sources/sandbox.js";
import { writeProject } from "../helpers/project.js";

let engines: DuckDbEngine[] = [];
afterEach(async () => {
  for (const engine of engines) await engine.close();
  engines = [];
});

describe("projectSandbox", () => {
  it("allows the project's non-hidden entries (absolute and relative) and coho's own snapshot and spill folders only", () => {
    const dir = writeProject({ "data/a.csv": "x\n", "orders.csv": "x\n", ".env": "S=1\n", ".git/config": "x", "node_modules/p/index.js": "", ".coho/journal.jsonl": "" });
    const sandbox = projectSandbox({ projectDir: dir });
    expect([...sandbox.directories].sort()).toEqual([join(dir, ".coho/snapshots/"), join(dir, ".coho/tmp/"), join(dir, "data/"), "data/"].sort());
    expect([...sandbox.paths].sort()).toEqual([join(dir, "orders.csv"), "orders.csv"].sort());
  });

  it("does not follow a top-level link into a hidden entry, and leaves out a folder holding a link out", () => {
    const dir = writeProject({ "data/a.csv": "x\n", "venv/lib/x.py": "", ".git/config": "x" });
    symlinkSync(join(dir, ".git"), join(dir, "gitlink"));
    expect(projectSandbox({ projectDir: dir }).directories).not.toContain(join(dir, "gitlink/"));
    mkdirSync(join(dir, "venv", "bin"));
    symlinkSync("/usr/bin/env", join(dir, "venv", "bin", "python"));
    symlinkSync(join(dir, ".git", "config"), join(dir, "data", "cfg"));
    const sandbox = projectSandbox({ projectDir: dir });
    expect(sandbox.directories).not.toContain(join(dir, "data/"));
    expect(sandbox.directories).not.toContain("venv/");
    expect(sandbox.excluded).toEqual([expect.stringMatching(/^data\/ \(data\/cfg links to .*\.git\/config\)$/), expect.stringMatching(/^venv\/ \(venv\/bin\/python links to \//)]);
    // An opt-in covering the target lets the folder back in.
    expect(projectSandbox({ projectDir: dir, allowed: ["/usr/bin"] }).directories).toContain("venv/");
  });
});

describe("the sandboxed engine", () => {
  it("cannot be unlocked by SQL, and never loads or installs an extension", async () => {
    const dir = writeProject({ "data/a.csv": "x\n1\n" });
    const engine = await DuckDbEngine.create({ projectDir: dir });
    engines.push(engine);
    for (const statement of ["SET enable_external_access = true", "RESET allowed_directories", "SET allowed_paths = ['/etc/passwd']", "SET file_search_path = '/'"]) {
      await expect(engine.connection.run(statement)).rejects.toThrow(/the configuration has been locked/);
    }
    await expect(engine.connection.run("INSTALL spatial")).rejects.toThrow(/disabled by configuration/);
    await expect(engine.connection.run("LOAD spatial")).rejects.toThrow(/disabled through configuration|disabled by configuration/);
    const rows = (await engine.connection.runAndReadAll("SELECT count(*) FROM read_csv('data/a.csv')")).getRows();
    expect(Number(rows[0]![0])).toBe(1);
    writeFileSync(join(dir, "late.csv"), "x\n1\n");
    // Top-level files are listed when the engine starts: one created later is not readable.
    await expect(engine.connection.run("SELECT * FROM read_csv('late.csv')")).rejects.toThrow(/disabled by configuration/);
  });
});
