import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COHO_BIN, runCli } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { freePort } from "../helpers/postgres-cluster.js";
import { readAction, type Workflow, type WorkflowStep } from "../helpers/workflow-runner.js";

const ROADS = ["attributes", "cohorts"] as const;
const SOURCES = ["duckdb", "postgres"] as const;
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
const action = readAction(REPO_ROOT);

/** `coho init` into a new folder; returns the project folder. */
async function init(args: string[]): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), "coho-init-road-")), "project");
  const result = await runCli(["init", dir, ...args]);
  expect(result.code, result.stderr).toBe(0);
  return dir;
}

/** Names a file reads as ${env:NAME} (YAML) or secrets.NAME / $NAME (the workflow). */
function variablesIn(text: string): string[] {
  return [...text.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g), ...text.matchAll(/secrets\.([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!);
}

const namedIn = (envFile: string) => new Set([...envFile.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!));

describe("coho init --road --source [--github]: every scaffold validates at once", () => {
  const combinations = ROADS.flatMap((road) => SOURCES.flatMap((source) => [false, true].map((github) => [road, source, github] as const)));

  it.each(combinations)("road %s, source %s, github %s", async (road, source, github) => {
    const dir = await init(["--road", road, "--source", source, ...(github ? ["--github"] : [])]);
    const config = readFileSync(join(dir, "coho.yaml"), "utf8");
    const parsed = parse(config) as { destinations: { braze: { type: string } }; sources: { warehouse: { type: string } }; state?: { backend: string } };
    expect(parsed.destinations.braze.type).toBe(road === "attributes" ? "braze_attributes" : "braze_cohorts");
    expect(parsed.sources.warehouse.type).toBe(source);
    expect(parsed.state?.backend ?? "local").toBe(github ? "postgres" : "local");
    expect(readFileSync(join(dir, ".gitignore"), "utf8").split("\n")).toEqual(expect.arrayContaining([".env", ".coho/"]));

    // Validates with nothing but the files init wrote (.env holds the local values).
    const validate = await runCli(["validate", "--json"], { cwd: dir });
    const report = JSON.parse(validate.stdout) as { valid: boolean; error_count: number; diagnostics: { code: string }[] };
    expect(report, validate.stdout).toMatchObject({ valid: true, error_count: 0 });
    expect(validate.code).toBe(0);

    // .env.example names every variable the project and its workflow read, and holds no local secret.
    const workflowPath = join(dir, ".github", "workflows", "coho.yml");
    const workflowText = github ? readFileSync(workflowPath, "utf8") : "";
    const example = readFileSync(join(dir, ".env.example"), "utf8");
    const needed = new Set([...variablesIn(config), ...variablesIn(workflowText).filter((n) => n !== "GITHUB_TOKEN")]);
    expect([...needed].filter((name) => !namedIn(example).has(name))).toEqual([]);
    expect(example).not.toMatch(/emulator-|127\.0\.0\.1:5432/);
    expect(existsSync(workflowPath)).toBe(github);
    if (github) checkWorkflow(parse(workflowText) as Workflow);
  });

  it("starts on the attributes road with the embedded engine when no flag is given (no terminal: no question)", async () => {
    const dir = await init([]);
    const config = readFileSync(join(dir, "coho.yaml"), "utf8");
    expect(config).toContain("type: braze_attributes");
    expect(config).toContain("type: duckdb");
    expect(config).toContain("rest_endpoint: http://127.0.0.1:${env:COHO_EMULATOR_PORT:-4010}");
    expect(existsSync(join(dir, ".github"))).toBe(false);
  });

  it("refuses an unknown road or source as a usage error, writing nothing", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "coho-init-road-")), "project");
    const result = await runCli(["init", dir, "--road", "segments"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'segments' is invalid");
    expect(result.stderr).toContain("attributes, cohorts");
    expect(existsSync(dir)).toBe(false);
  });

  it.each(ROADS)("the %s scaffold plans and applies against the emulator, then has nothing to do", async (road) => {
    const dir = await init(["--road", road]);
    const port = String(await freePort());
    const emulator = spawn(process.execPath, [COHO_BIN, "emulator"], { env: { PATH: process.env.PATH ?? "", COHO_EMULATOR_PORT: port } });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = "";
        emulator.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("listening on")) resolve();
        });
        emulator.on("exit", () => reject(new Error(out)));
      });
      const env = { COHO_EMULATOR_PORT: port, NO_COLOR: "1" };
      const apply = await runCli(["apply", "--auto-approve"], { cwd: dir, env });
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      expect(apply.stdout).toContain("Apply complete!");
      const again = await runCli(["plan", "--detailed-exitcode"], { cwd: dir, env });
      expect(again.code, again.stdout).toBe(0);
    } finally {
      emulator.kill("SIGINT");
    }
  });

  it("asks on a terminal for what the flags leave open", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "coho-init-tty-")), "project");
    // `script` gives coho a terminal; the answers: road 2 (cohorts), the default source, no workflow.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(COHO_BIN)} init ${JSON.stringify(dir)}`;
    const result = spawnSync("script", ["-qec", command, "/dev/null"], { input: "2\n\nn\n", encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), TERM: "dumb" }, timeout: 30_000 });
    expect(result.status, result.stdout).toBe(0);
    expect(result.stdout).toContain("How should coho write to Braze?");
    expect(result.stdout).toContain("Where do the models run?");
    const config = readFileSync(join(dir, "coho.yaml"), "utf8");
    expect(config).toContain("type: braze_cohorts");
    expect(config).toContain("type: duckdb");
    expect(existsSync(join(dir, ".github"))).toBe(false);
  });

  it("Ctrl-D at apply's question is no answer: nothing is sent, no internal error", async () => {
    const dir = await init([]);
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(COHO_BIN)} apply`;
    const result = spawnSync("script", ["-qec", command, "/dev/null"], { cwd: dir, input: "\x04", encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), TERM: "dumb" }, timeout: 30_000 });
    expect(result.stdout).toContain("Apply cancelled; nothing was sent.");
    expect(result.stdout).not.toContain("internal error");
    expect(existsSync(join(dir, "coho.lock"))).toBe(false);
  });
});

/** The workflow runs plan on pull requests and apply on pushes, through the coho action with inputs it has. */
function checkWorkflow(workflow: Workflow): void {
  const commands: string[] = [];
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const step = job.steps.find((s: WorkflowStep) => s.uses?.startsWith("your-org/coho@"));
    expect(step?.uses, name).toBe(`your-org/coho@v${VERSION}`);
    for (const input of Object.keys(step!.with ?? {})) expect(Object.keys(action.inputs ?? {}), `${name}: input ${input}`).toContain(input);
    for (const [input, spec] of Object.entries(action.inputs ?? {})) if (spec.required) expect(step!.with?.[input], `${name}: required input ${input}`).toBeDefined();
    commands.push(step!.with!.command!);
  }
  expect(commands.sort()).toEqual(["apply", "plan"]);
  expect(workflow.jobs.plan!.if).toBe("github.event_name == 'pull_request'");
  expect(JSON.stringify(workflow.jobs.plan)).not.toMatch(/BRAZE_[A-Z_]*KEY/);
}
