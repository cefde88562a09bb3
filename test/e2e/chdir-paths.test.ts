import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../helpers/cli.js";
import { dbtHeader, dbtProject } from "../helpers/dbt-project.js";
import { emulators } from "../helpers/emulator.js";
import { EMULATOR_ENV, destinationEntry, writeProject } from "../helpers/project.js";

const start = emulators();

/**
 * A shell folder (`root/a/b`), a project (`root/project`) and a file beside the
 * project (`root/shared/users.csv`): `-C ../../project` from the shell folder, where
 * `../shared` means root/shared from the project but root/a/shared from the shell.
 */
function layout(emuUrl: string): { root: string; shell: string; project: string } {
  const root = writeProject({
    "shared/users.csv": "user_id\nu1\nu2\nu3\n",
    "project/coho.yaml": `version: 1
sources:
  files: { type: duckdb, allowed_paths: [../shared] }
destinations:
${destinationEntry("braze", emuUrl)}models:
  m:
    sql: |
      select user_id from read_csv('__ROOT__/shared/users.csv', columns = {'user_id': 'VARCHAR'})
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  alpha: { name: Alpha, destination: braze, model: m, identifier: user_id }
`,
  });
  const yamlPath = join(root, "project", "coho.yaml");
  writeFileSync(yamlPath, readFileSync(yamlPath, "utf8").replace("__ROOT__", root));
  const shell = join(root, "a", "b");
  mkdirSync(shell, { recursive: true });
  return { root, shell, project: join(root, "project") };
}

describe("-C DIR works like terraform -chdir: relative paths given to a command are relative to DIR", () => {
  it("plan --out, show PLANFILE, apply PLANFILE, history --html and --allow-path, run from another folder", async () => {
    const emu = await start();
    const { shell, project } = layout(emu.url);
    const run = (args: string[], env: Record<string, string> = { COHO_ALLOW_PATHS: "../shared" }) => runCli(["-C", "../../project", ...args], { cwd: shell, env: { ...EMULATOR_ENV, NO_COLOR: "1", ...env } });

    // --allow-path alone (no COHO_ALLOW_PATHS): a relative one is relative to DIR.
    const planned = await run(["--allow-path", "../shared", "plan", "--out", "plan.coho"], {});
    expect(planned.code, planned.stderr).toBe(0);
    expect(existsSync(join(project, "plan.coho"))).toBe(true);
    expect(readdirSync(shell)).toEqual([]);
    // The file named so the shell finds it; the command to apply it keeps the same -C.
    expect(planned.stderr).toContain(`Saved the plan to ${join(project, "plan.coho")}; apply exactly it with: coho -C ../../project apply plan.coho`);

    const shown = await run(["show", "plan.coho"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain("cohorts.alpha");

    const applied = await run(["apply", "plan.coho"]);
    expect(applied.code, applied.stderr).toBe(0);

    const report = await run(["history", "--html", "history.html"]);
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(join(project, "history.html"), "utf8")).toContain("<html");
    expect(report.stderr).toContain(join("..", "..", "project", "history.html"));

    // Every step after the first opted in with COHO_ALLOW_PATHS=../shared: relative to DIR too.
    expect(readdirSync(shell)).toEqual([]);
  });

  it("dbt exposures --out FILE writes into DIR", async () => {
    const project = dbtProject(`${dbtHeader("  owner: { name: Growth team }\n")}models:
  vip:
    primary_key: user_id
    dbt: users_vip
identifiers:
  user_id: { type: external_id, column: user_id }
destinations:
${destinationEntry("braze", "http://127.0.0.1:9")}cohorts:
  vip: { name: VIP, destination: braze, model: vip, identifier: user_id }
`);
    const shell = writeProject({});
    const result = await runCli(["-C", project, "dbt", "exposures", "--out", "coho_exposures.yml"], { cwd: shell, env: { NO_COLOR: "1" } });
    expect(result.code, result.stderr).toBe(0);
    const doc = parse(readFileSync(join(project, "coho_exposures.yml"), "utf8")) as { exposures: unknown[] };
    expect(doc.exposures).toHaveLength(1);
    expect(readdirSync(shell)).toEqual([]);
  });
});
