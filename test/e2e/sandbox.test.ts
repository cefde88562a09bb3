import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, withoutProgress } from "../helpers/cli.js";
import { emulators } from "../helpers/emulator.js";
import { DESTINATION_YAML, EMULATOR_ENV, destinationEntry, writeProject } from "../helpers/project.js";

const start = emulators();

const SECRET = "ghp_sandboxcanarytoken0123456789";

/** A project whose one model runs `sql`, with a git folder and a .env holding a planted secret. */
function sandboxProject(model: string, extra: Record<string, string> = {}, sourceYaml = "", destinations = DESTINATION_YAML): string {
  return writeProject({
    "coho.yaml": `version: 1
${sourceYaml}${destinations}models:
  m:
${model}
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c:
    name: C
    destination: braze
    model: m
    identifier: user_id
`,
    ".git/config": `[http]\n\textraheader = AUTHORIZATION: basic ${SECRET}\n`,
    ".env": `UNRELATED_TOKEN=${SECRET}\n`,
    "data/users.csv": "user_id\nu1\nu2\n",
    ...extra,
  });
}

const sql = (text: string) => `    sql: |\n      ${text}`;
const plan = (dir: string, args: string[] = []) => runCli(["-C", dir, ...args, "plan", "--no-color"], { env: EMULATOR_ENV });

describe("the embedded engine's sandbox", () => {
  it.each([
    ["a file elsewhere on the machine", "select content as user_id from read_text('/etc/passwd')", "/etc/passwd"],
    ["the project's git config (a CI token lives there)", "select content as user_id from read_text('.git/config')", ".git/config"],
    ["the project's .env", "select content as user_id from read_text('.env')", ".env"],
    ["a path that climbs out of an allowed folder", "select content as user_id from read_text('data/../.git/config')", "data/../.git/config"],
    ["a listing of another folder", "select file as user_id from glob('/root/*')", "/root/*"],
    ["a URL", "select * from read_csv('https://example.com/users.csv')", "https://example.com/users.csv"],
  ])("refuses %s, with a located error and nothing of the file in the output", async (_, query, path) => {
    const dir = sandboxProject(sql(query));
    const result = await plan(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: model m: the database refused its SQL:");
    expect(result.stderr).toMatch(/hint: fix the SQL of models\.m at .*coho\.yaml:12:\d+/);
    expect(result.stderr).toContain(`Cannot access file "${path}" - file system operations are disabled by configuration`);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    expect(result.stdout + result.stderr).not.toMatch(/root:x:0|at .*\.js:\d+/);
  });

  it("refuses a model that tries to lift the sandbox", async () => {
    const lifted = await plan(sandboxProject(sql("SET enable_external_access = true; select content as user_id from read_text('/etc/passwd')")));
    expect(lifted.code).toBe(1);
    expect(lifted.stderr).toContain("Cannot prepare multiple statements at once");
  });

  it("never runs a model as anything but a query: a COPY cannot write into the project", async () => {
    const dir = sandboxProject(sql("COPY (select 'u1' as user_id) TO 'data/planted.csv'"));
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("column: user_id", "column: Count"));
    const result = await plan(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: model m: the database refused its SQL:");
    expect(existsSync(join(dir, "data", "planted.csv"))).toBe(false);
  });

  it("still reads the project's own CSV files (relative and absolute paths) and its snapshots in .coho/ after apply", async () => {
    const emu = await start();
    const dir = sandboxProject(sql("select user_id from read_csv('data/users.csv') union select user_id from read_csv('PROJECT/data/users.csv')"), {}, "", `destinations:\n${destinationEntry("braze", emu.url)}`);
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("PROJECT", dir));
    const first = await plan(dir);
    expect(withoutProgress(first.stderr)).toBe("");
    expect(first.stdout).toContain("0 → 2  (+2 / −0)");
    const applied = await runCli(["-C", dir, "apply", "--auto-approve", "--no-color"], { env: EMULATOR_ENV });
    expect(applied.code, applied.stderr).toBe(0);
    writeFileSync(join(dir, "data", "users.csv"), "user_id\nu1\nu3\n");
    const second = await plan(dir);
    expect(withoutProgress(second.stderr)).toBe("");
    expect(second.stdout).toContain("2 → 2  (+1 / −1)");
  });

  it("does not follow a symbolic link inside the project that leads out of it, unless allowed_paths opts in", async () => {
    const outside = writeProject({ "users.csv": "user_id\nx1\n" });
    const dir = sandboxProject(sql("select user_id from read_csv('data/elsewhere/users.csv')"));
    symlinkSync(outside, join(dir, "data", "elsewhere"));
    const refused = await plan(dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Cannot access file "data/elsewhere/users.csv"');
    expect(refused.stderr).toContain(`left out for holding a link out of the project: data/ (data/elsewhere links to ${outside})`);
    expect(refused.stderr).toContain("list it under sources.duckdb.allowed_paths");
    writeFileSync(join(dir, "coho.yaml"), sandboxYaml(dir, `sources:\n  files: { type: duckdb, allowed_paths: [${outside}] }\n`));
    const allowed = await plan(dir, ["--allow-path", outside]);
    expect(withoutProgress(allowed.stderr)).toBe("");
    expect(allowed.stdout).toContain("0 → 1  (+1 / −0)");
  });

  it("reads outside the project only through sources.<name>.allowed_paths", async () => {
    const outside = writeProject({ "export/users.csv": "user_id\nx1\nx2\nx3\n" });
    const dir = sandboxProject(sql(`select user_id from read_csv('${outside}/export/users.csv')`));
    const refused = await plan(dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("file system operations are disabled by configuration");
    writeFileSync(join(dir, "coho.yaml"), sandboxYaml(dir, `sources:\n  files:\n    type: duckdb\n    allowed_paths: [${outside}/export]\n`));
    const allowed = await plan(dir, ["--allow-path", `${outside}/export`]);
    expect(withoutProgress(allowed.stderr)).toBe("");
    expect(allowed.stdout).toContain("0 → 3  (+3 / −0)");
  });
});

describe("configuration paths stay inside the project", () => {
  it("refuses `file:` outside the project or under a hidden folder, located", async () => {
    const parent = writeProject({ "x.sql": "select 'u1' as user_id" });
    const dir = join(parent, "a", "b");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "coho.yaml"), `version: 1\n${DESTINATION_YAML}models:\n  m:\n    file: ../../x.sql\n  n:\n    file: .git/config\nidentifiers:\n  user_id: { type: external_id, column: user_id }\n`);
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, ".git", "config"), SECRET);
    const result = await runCli(["-C", dir, "validate", "--no-color"], { env: EMULATOR_ENV });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("coho.yaml:11:11: error: models.m.file: ../../x.sql is outside the project folder or hidden");
    expect(result.stderr).toContain("coho.yaml:13:11: error: models.n.file: .git/config is outside the project folder or hidden");
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it("refuses `include:` patterns that reach outside the project, located", async () => {
    const parent = writeProject({ "other/cohorts.yaml": "cohorts: {}\n" });
    const dir = join(parent, "project");
    mkdirSync(dir);
    writeFileSync(join(dir, "coho.yaml"), `version: 1\n${DESTINATION_YAML}include:\n  - ../other/*.yaml\n`);
    const result = await runCli(["-C", dir, "validate", "--no-color"], { env: EMULATOR_ENV });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("coho.yaml:10:5: error: include pattern `../other/*.yaml` leads out of the project folder (..); included files must be inside the project folder");
    // Refused before any folder is read: nothing tells what exists outside.
    expect(result.stderr).not.toContain("cohorts.yaml");
  });

  it("re-checks `include:` patterns after ${var:…} substitution: a variable cannot lead out, to a hidden entry, or through a link", async () => {
    const parent = writeProject({ "other/leaked-name.yaml": "cohorts: {}\n", "project/.hidden/h.yaml": "cohorts: {}\n", "project/cohorts/a.yaml": "cohorts: {}\n" });
    const dir = join(parent, "project");
    // A folder inside the project that is a link to one outside it.
    symlinkSync(join(parent, "other"), join(dir, "linked"));
    writeFileSync(join(dir, "coho.yaml"), `version: 1\nvars:\n  where: { type: string, default: cohorts }\n${DESTINATION_YAML}include:\n  - "\${var:where}/*.yaml"\n`);
    const validate = (where: string) => runCli(["-C", dir, "validate", "--no-color", "--var", `where=${where}`], { env: EMULATOR_ENV });
    expect((await validate("cohorts")).code).toBe(0);
    const refusals: [string, string][] = [
      ["../other", "include pattern `../other/*.yaml` leads out of the project folder (..)"],
      [join(parent, "other"), `include pattern \`${join(parent, "other")}/*.yaml\` is an absolute path`],
      [".hidden", "include pattern `.hidden/*.yaml` names a hidden entry"],
      ["{cohorts,.hidden}", "include pattern `{cohorts,.hidden}/*.yaml` names a hidden entry"],
      ["cohorts/..", "include pattern `cohorts/../*.yaml` leads out of the project folder (..)"],
      ["\\.hidden", "include pattern `\\.hidden/*.yaml` holds a backslash"],
    ];
    for (const [where, message] of refusals) {
      const result = await validate(where);
      expect(result.code, where).toBe(1);
      expect(result.stderr, where).toContain("coho.yaml:12:5: error: ");
      expect(result.stderr, where).toContain(message);
      expect(result.stderr, where).toContain("[config.path_outside_project]");
      expect(result.stderr, where).not.toMatch(/leaked-name|h\.yaml/);
    }
    // Through the link: the match is refused (it leads out), and `**` does not walk into it.
    const linked = await validate("linked");
    expect(linked.code).toBe(1);
    expect(linked.stderr).toContain("include pattern `linked/*.yaml` matches 1 file(s) that lead outside the project folder or under a hidden entry (through a symbolic link)");
    expect(linked.stderr).not.toContain("leaked-name");
    writeFileSync(join(dir, "coho.yaml"), `version: 1\n${DESTINATION_YAML}include:\n  - "**/*.yaml"\n`);
    const everything = await runCli(["-C", dir, "validate", "--no-color"], { env: EMULATOR_ENV });
    expect(everything.code, everything.stderr).toBe(0);
    expect(everything.stderr).not.toContain("leaked-name");
  });

  it("refuses a DuckDB database file outside the project unless allowed_paths covers it", async () => {
    const outside = writeProject({});
    const dir = sandboxProject(sql("select 'u1' as user_id"), {}, `sources:\n  wh:\n    type: duckdb\n    path: ${outside}/warehouse.duckdb\n`);
    const result = await runCli(["-C", dir, "validate", "--no-color"], { env: EMULATOR_ENV });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/coho\.yaml:5:11: error: sources\.wh\.path: .*warehouse\.duckdb is outside the project folder or hidden; list it \(or its folder\) under sources\.wh\.allowed_paths/);
  });
});

/** The project's coho.yaml with a sources block added. */
function sandboxYaml(dir: string, sources: string): string {
  const yaml = readFileSync(join(dir, "coho.yaml"), "utf8");
  return yaml.replace("version: 1\n", `version: 1\n${sources}`);
}
