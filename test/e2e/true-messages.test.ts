import { execFileSync } from "node:child_process";
import { Ajv } from "ajv";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { STACK_FRAME } from "../helpers/cli.js";
import { emulator } from "../helpers/emulator.js";
import { applyProject, coho, ids, writeMembers } from "../helpers/apply-project.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { destinationEntry, writeProject } from "../helpers/project.js";
import { countryRows, setProjectFor, writeRows } from "../helpers/set-project.js";

function project(options: Parameters<typeof applyProject>[1] = {}): string {
  const dir = applyProject(emu, options);
  writeMembers(dir, "a", ids(5));
  writeMembers(dir, "b", ids(3, 50));
  return dir;
}

/** Messages that say what is true: each through the built binary. */
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await emulator();
});
afterAll(async () => emu.close());

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("an unreachable Braze", () => {
  it("fails fast naming the host and coho check, and the next apply finds nothing interrupted", async () => {
    const port = await closedPort();
    const dir = applyProject({ url: `http://127.0.0.1:${port}` } as RunningEmulator);
    writeMembers(dir, "a", ids(5));
    writeMembers(dir, "b", ids(3, 50));
    const started = Date.now();
    const first = await coho(dir, ["apply", "--auto-approve"]);
    const seconds = (Date.now() - started) / 1000;
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(`cannot reach destination braze at 127.0.0.1:${port}: connection refused; nothing was sent`);
    expect(first.stderr).toContain("coho check");
    expect(first.stderr).not.toMatch(STACK_FRAME);
    expect(first.stderr).not.toMatch(/retry|attempt/i);
    // Retries would take 13 s and more; the connection test answers at once (start-up and planning included).
    expect(seconds).toBeLessThan(8);
    const second = await coho(dir, ["apply", "--auto-approve"]);
    expect(second.code).toBe(1);
    expect(second.stderr + second.stdout).not.toMatch(/interrupted/i);
    const history = await coho(dir, ["history"]);
    expect(history.stdout).not.toContain("interrupted");
  }, 60_000);
});

describe("state files that are not what they seem", () => {
  it("a lock file of {} names no 'undefined' holder", async () => {
    const dir = project();
    mkdirSync(join(dir, ".coho"), { recursive: true });
    writeFileSync(join(dir, ".coho", "lock.json"), "{}");
    const result = await coho(dir, ["apply", "--auto-approve"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the state is locked and its lock file is unreadable or incomplete (it names no holder)");
    expect(result.stderr).toContain("remove .coho/lock.json if no coho is running");
    expect(result.stderr).not.toContain("undefined");
  });

  it("a FIFO where a snapshot should be is refused, not waited on", async () => {
    const dir = project();
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const snapshots = join(dir, ".coho", "snapshots");
    const file = readdirSync(snapshots).find((f) => f.endsWith(".parquet"))!;
    rmSync(join(snapshots, file));
    execFileSync("mkfifo", [join(snapshots, file)]);
    const started = Date.now();
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.stderr).toMatch(/the snapshot of cohorts\.(alpha|beta) is not a regular file \(\.coho\/snapshots\/.*\): something replaced it with a pipe, device or folder/);
  }, 60_000);
});

describe("the attribute road in its own words", () => {
  it("a rename is not 'in Braze' and a delete clears the attribute, with no empty cohort left listed", async () => {
    const dir = project({ road: "attributes" });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const yaml = readFileSync(join(dir, "coho.yaml"), "utf8").replace("name: Alpha", "name: Alpha renamed").replace(/  beta:\n(    .*\n)+/, "");
    writeFileSync(join(dir, "coho.yaml"), yaml);
    const plan = await coho(dir, ["plan"]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('renamed: "Alpha" → "Alpha renamed" (recorded in state only: Braze keeps no name for an attribute)');
    expect(plan.stdout).toContain("not in the configuration: the attribute is cleared on every member, then the cohort is forgotten");
    expect(plan.stdout).not.toMatch(/renamed in Braze|stays listed in Braze|adopt it again/);
  }, 60_000);
});

describe("guards that say how to pass them", () => {
  it("a blocked plan ends with the flag that overrides it, and --allow-removals names every guard it overrides", async () => {
    const dir = project({ guards: "    guards: { max_removals: 1 }\n" });
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    writeMembers(dir, "a", ids(2));
    const plan = await coho(dir, ["plan"]);
    expect(plan.code).toBe(1);
    expect(plan.stdout.trimEnd().split("\n").slice(-2)).toEqual(["This plan cannot be applied.", "If these removals are intended, plan again with --allow-removals (it overrides max_removals)."]);
    const help = await coho(dir, ["plan", "--help"]);
    expect(help.stdout.replace(/\s+/g, " ")).toContain("override the removal guards: allow_empty, max_removals and max_deleted_instances (never prevent_destroy or max_array_values)");
  }, 60_000);

  it("max_deleted_instances as a percentage of a small set allows at least one deletion", async () => {
    const dir = await setProjectFor("local", emu, { extra: "    guards: { max_deleted_instances: 10% }\n" });
    const countries = ["DE", "FR", "IT", "ES", "NL", "PL"];
    writeRows(dir, countries.flatMap((c) => countryRows(c, 2)));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    writeRows(dir, countries.slice(1).flatMap((c) => countryRows(c, 2)));
    const plan = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(plan.code, plan.stdout).toBe(2);
    expect(plan.stdout).toContain("1 instance deletions within max_deleted_instances (10% of 6 = 1 (at least one))");
    // The set's summary adds up: 6 instances, 1 to delete and 5 unchanged.
    expect(plan.stdout).toContain("6 instances: 1 to delete, 5 unchanged");
  }, 60_000);
});

/** A project of one cohort over inline rows (DuckDB), with `extra` lines for its model and cohort. */
function inline(rows: string, options: { model?: string; cohort?: string; sources?: string } = {}): string {
  return writeProject({
    "coho.yaml": `version: 1\n${options.sources ?? ""}destinations:\n${destinationEntry("braze", emu.url)}models:\n  m:\n    sql: select * from (values ${rows}) t(id, user_id)\n${options.model ?? ""}identifiers:\n  user_id: { type: external_id, column: user_id }\ncohorts:\n  main:\n    name: Main\n    destination: braze\n    model: m\n    identifier: user_id\n${options.cohort ?? ""}`,
  });
}

describe("configuration and data messages", () => {
  it("rejected rows are shown even when nothing else changes", async () => {
    const dir = inline("(1, 'u1'), (2, ''), (3, null)");
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const plan = await coho(dir, ["plan"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("cohorts.main (no changes): rejected rows: 2 (null: 1, empty: 1)");
    expect(plan.stdout).toContain("No changes.");
    const markdown = await coho(dir, ["plan", "--markdown"]);
    expect(markdown.stdout).toContain("> - `cohorts.main`: 2 (null: 1, empty: 1)");
  });

  it("a NULL primary key is called NULL, not 'not unique'", async () => {
    const dir = inline("(1, 'u1'), (null, 'u2')", { model: "    primary_key: id\n" });
    const plan = await coho(dir, ["plan"]);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain("model m: primary_key `id` is NULL in 1 row; a primary key must identify every row");
    expect(plan.stderr).toContain("[source.primary_key_null]");
    expect(plan.stderr).not.toContain("not unique");
  });

  it("statement_timeout: 30 gets the duration hint; an unknown key and a bad reference come in one pass", async () => {
    const dir = inline("(1, 'u1')", {
      sources: "sources:\n  wh:\n    type: postgres\n    url: postgres://nobody@127.0.0.1:1/none\n    statement_timeout: 30\n",
      cohort: "    guards: { allow_empty: true }\n    colour: blue\n",
    });
    writeFileSync(join(dir, "coho.yaml"), readFileSync(join(dir, "coho.yaml"), "utf8").replace("    model: m\n    identifier", "    model: mm\n    identifier"));
    const result = await coho(dir, ["validate"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: sources\.wh\.statement_timeout must be a duration with a unit: 500ms, 30s, 10m, 1h30m \(or 0\); a bare number is refused/);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: unknown key `colour` in cohorts\.main/);
    expect(result.stderr).toMatch(/coho\.yaml:\d+:\d+: error: cohorts\.main\.model: no model `mm` is declared; did you mean `m`\?|no model `mm` is declared/);
    expect(result.stderr).toContain("The configuration has 3 errors");
  });

  it("--target gets did-you-mean", async () => {
    const dir = project();
    const result = await coho(dir, ["plan", "--target", "cohorts.alpah"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("--target cohorts.alpah: no such cohort in the configuration or the state; did you mean `cohorts.alpha`?");
    const short = await coho(dir, ["plan", "--target", "bta"]);
    expect(short.stdout).toContain("did you mean `cohorts.beta`?");
  });

  it("set keys that are only NBSP or U+3000 are rejected as empty", async () => {
    const dir = await setProjectFor("local", emu);
    writeRows(dir, [["DE", "u1"], ["\u00a0", "u2"], ["\u3000\u3000", "u3"], [" \u00a0 ", "u4"]]);
    const plan = await coho(dir, ["plan", "--json"]);
    const parsed = JSON.parse(plan.stdout) as { sets: { instances: number; rejected_keys: Record<string, { values: number; rows: number }> }[] };
    expect(parsed.sets[0]!.instances).toBe(1);
    expect(parsed.sets[0]!.rejected_keys.empty).toEqual({ values: 3, rows: 3 });
  });
});

describe("formats that say what they are", () => {
  it("plan --help names the current plan format, and the plan schema passes Ajv's strict mode", async () => {
    const help = await coho(project(), ["plan", "--help"]);
    expect(help.stdout).toContain("print the plan as JSON (format coho-plan 1.1)");
    expect(help.stdout).toContain("JSON and saved plans (--out) are plan format 1.1");
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schema", "coho-plan.schema.json"), "utf8")) as object;
    expect(() => new Ajv({ strict: true, allErrors: true }).compile(schema)).not.toThrow();
  });

  it("coho history --json is what its schema describes", async () => {
    const dir = project();
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const history = await coho(dir, ["history", "--json"]);
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schema", "coho-history.schema.json"), "utf8")) as object;
    const validate = new Ajv({ strict: true, allErrors: true }).compile(schema);
    const records = JSON.parse(history.stdout) as unknown;
    expect(validate(records), JSON.stringify(validate.errors)).toBe(true);
    expect(Array.isArray(records)).toBe(true);
  });
});

describe("verify on Cohort Import", () => {
  it("says once why its cohorts cannot be checked, then lists them", async () => {
    const dir = project();
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const result = await coho(dir, ["verify"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(/n\/a/g)).toHaveLength(1);
    expect(result.stdout).toMatch(/n\/a {2}Braze offers no read-back for Cohort Import \(braze_cohorts\)[^\n]*:\n {4}cohorts\.alpha, cohorts\.beta \(2 cohorts\)/);
  });
});
