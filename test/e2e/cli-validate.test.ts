import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANSI, STACK_FRAME, runCli } from "../helpers/cli.js";
import { EXAMPLES, FIXTURES, PLANTED_SECRETS, fixtureDirs } from "../helpers/fixtures.js";

interface ExpectedError {
  file: string;
  line: number;
  column: number;
  message: string;
}

const expectedErrors = (dir: string): ExpectedError[] =>
  (JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as { errors: ExpectedError[] }).errors;

describe("coho validate, end to end", () => {
  it("accepts the quickstart: exit 0 and a one-line verdict", async () => {
    const result = await runCli(["-C", join(EXAMPLES, "quickstart"), "validate"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe("The configuration is valid.");
    expect(result.stderr).toBe("");
  });

  it("prints the documented JSON report", async () => {
    const result = await runCli(["validate", "--json"], { cwd: join(FIXTURES, "invalid", "cohort-unknown-model") });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      valid: false,
      error_count: 1,
      warning_count: 0,
      diagnostics: [
        {
          severity: "error",
          code: "config.unknown_reference",
          message: "cohorts.buyers.model: no model `buyer` is declared; did you mean `buyers`?",
          file: "coho.yaml",
          line: 18,
          column: 12,
        },
      ],
    });
  });

  it("destination-missing-env: validate warns at the reference (it never calls Braze); apply refuses there", async () => {
    const dir = join(FIXTURES, "invalid", "destination-missing-env");
    const first = expectedErrors(dir)[0]!;
    const json = await runCli(["validate", "--json"], { cwd: dir });
    expect(json.code).toBe(0);
    const warning = (JSON.parse(json.stdout) as { diagnostics: (ExpectedError & { severity: string; code: string })[] }).diagnostics.find((d) => d.line === first.line)!;
    expect(warning).toMatchObject({ severity: "warning", code: "config.secret_unset", file: first.file, line: first.line, column: first.column });
    const apply = await runCli(["apply", "--auto-approve"], { cwd: dir });
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain(`${first.file}:${first.line}:${first.column}: error: ${first.message}`);
    for (const output of [json.stdout, json.stderr, apply.stdout, apply.stderr]) {
      expect(output).not.toMatch(STACK_FRAME);
      for (const secret of PLANTED_SECRETS) expect(output).not.toContain(secret);
    }
  });

  // destination-missing-env is invalid only for commands that call Braze (above).
  for (const dir of fixtureDirs("invalid").filter((d) => basename(d) !== "destination-missing-env")) {
    // Concurrent: each case spawns two CLI processes; they do not share anything.
    it.concurrent(`${basename(dir)}: exit 1, located message, no stack trace, no secret`, async () => {
      const expected = expectedErrors(dir);
      const human = await runCli(["validate"], { cwd: dir });
      const json = await runCli(["validate", "--json"], { cwd: dir });
      expect(human.code).toBe(1);
      expect(json.code).toBe(1);
      const first = expected[0]!;
      expect(human.stderr).toContain(`${first.file}:${first.line}:${first.column}: error: ${first.message}`);
      for (const output of [human.stdout, human.stderr, json.stdout, json.stderr]) {
        expect(output).not.toMatch(STACK_FRAME);
        expect(output).not.toContain("internal error");
        expect(output).not.toMatch(ANSI);
        for (const secret of PLANTED_SECRETS) expect(output).not.toContain(secret);
      }
      const report = JSON.parse(json.stdout) as { diagnostics: (ExpectedError & { severity: string })[] };
      const errors = report.diagnostics
        .filter((d) => d.severity === "error")
        .map(({ file, line, column, message }) => ({ file, line, column, message }));
      expect(errors).toEqual(expected);
    });
  }

  it("prints GitHub annotations under GitHub Actions", async () => {
    const dir = join(FIXTURES, "invalid", "cohort-unknown-destination");
    const result = await runCli(["validate"], { cwd: dir, env: { GITHUB_ACTIONS: "true" } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "::error file=coho.yaml,line=17,col=18::cohorts.buyers.destination: no destination `braz` is declared; did you mean `braze`?",
    );
  });

  it("names files relative to the working folder when -C points elsewhere", async () => {
    const result = await runCli(["-C", "test/fixtures/invalid/include-state", "validate"]);
    expect(result.stderr).toContain("test/fixtures/invalid/include-state/extra.yaml:1:1: error: `state` may only appear in coho.yaml");
  });

  it("colours only when asked: FORCE_COLOR on, NO_COLOR and --no-color off", async () => {
    const dir = join(FIXTURES, "invalid", "cohort-unknown-model");
    expect((await runCli(["validate"], { cwd: dir, env: { FORCE_COLOR: "1" } })).stderr).toMatch(ANSI);
    expect((await runCli(["validate"], { cwd: dir, env: { FORCE_COLOR: "1", NO_COLOR: "1" } })).stderr).not.toMatch(ANSI);
    expect((await runCli(["--no-color", "validate"], { cwd: dir, env: { FORCE_COLOR: "1" } })).stderr).not.toMatch(ANSI);
  });

  it("never prints a secret that was resolved, even when it lands in a message", async () => {
    // The cohort name interpolates the same variable as the partner key: a user mistake
    // that would otherwise echo the secret through a later error about that name.
    const dir = join(FIXTURES, "valid", "includes");
    const result = await runCli(["validate", "--json"], { cwd: dir });
    expect(result.code).toBe(0);
    for (const secret of PLANTED_SECRETS) expect(result.stdout + result.stderr).not.toContain(secret);
  });
});

describe("the coho command line", () => {
  it("prints its version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(new RegExp(`^coho ${pkg.version.replace(/\./g, "\\.")}( \\([0-9a-f]{12}\\))?$`));
  });

  it("shows help with examples", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Examples:");
    expect(result.stdout).toContain("coho init my-cohorts");
  });

  it("refuses an unknown command with a suggestion and exit 1", async () => {
    const result = await runCli(["validat"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("(Did you mean validate?)");
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it("refuses a malformed --lock-timeout", async () => {
    const result = await runCli(["--lock-timeout", "soon", "validate"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"soon" is not a duration; write a duration with a unit: 500ms, 30s, 10m, 1h30m');
  });
});
