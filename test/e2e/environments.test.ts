import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HistoryRecord } from "../../src/model/history.js";
import type { Plan } from "../../src/model/plan.js";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { emulator, requestLog } from "../helpers/emulator.js";
import { BACKENDS, applyProjectFor, brazeByName, coho, ids, queryState, stateUrl, writeMembers } from "../helpers/apply-project.js";

/**
 * One configuration, two Braze workspaces: `staging` (the base, the default)
 * and `production` (its own endpoint and import key). Each environment's
 * applies reach only its own workspace and advance only its own state; a saved
 * plan is bound to the environment it was made for.
 */
const PROD_KEY = "production-import-key-7c1f";

function environmentsBlock(production: RunningEmulator): string {
  return `environments:
  staging:
    default: true
  production:
    description: the live workspace
    destinations:
      braze:
        rest_endpoint: ${production.url}
        data_import_key: \${env:BRAZE_PROD_IMPORT_KEY}
`;
}

const PROD_ENV = { BRAZE_PROD_IMPORT_KEY: PROD_KEY };

describe.each(BACKENDS)("environments (%s state)", (backend) => {
  let staging: RunningEmulator;
  let production: RunningEmulator;
  let dir: string;
  beforeAll(async () => {
    staging = await emulator();
    production = await emulator({ dataImportKey: PROD_KEY });
    dir = await applyProjectFor(backend, staging);
    appendFileSync(join(dir, "coho.yaml"), environmentsBlock(production));
    writeMembers(dir, "a", ids(6));
    writeMembers(dir, "b", ids(3, 100));
  });
  afterAll(async () => {
    await staging.close();
    await production.close();
  });

  it("applies each environment to its own workspace and its own state", async () => {
    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(first.code, first.stderr).toBe(0);
    expect((await brazeByName(staging)).Alpha).toHaveLength(6);
    expect(await requestLog(production)).toEqual([]);

    writeMembers(dir, "a", ids(9));
    const stagingRequests = (await requestLog(staging)).length;
    const prod = await coho(dir, ["--env", "production", "apply", "--auto-approve", "--json"], PROD_ENV);
    expect(prod.code, prod.stderr).toBe(0);
    expect(JSON.parse(prod.stdout)).toMatchObject({ environment: "production", totals: { added: 12 } });
    expect((await brazeByName(production)).Alpha).toHaveLength(9);
    // Production's apply sent nothing to staging, and staging's state did not move.
    expect(await requestLog(staging)).toHaveLength(stagingRequests);
    const stagingPlan = JSON.parse((await coho(dir, ["plan", "--json"])).stdout) as Plan;
    expect(stagingPlan).toMatchObject({ environment: "staging", state: { serial: 1 } });
    expect(stagingPlan.cohorts.find((c) => c.address === "cohorts.alpha")!.members).toMatchObject({ before: 6, add: 3 });
    const prodPlan = JSON.parse((await coho(dir, ["plan", "--json"], { COHO_ENV: "production" })).stdout) as Plan;
    expect(prodPlan).toMatchObject({ environment: "production", state: { serial: 1 } });
    expect(prodPlan.state.lineage).not.toBe(stagingPlan.state.lineage);
    expect(prodPlan.cohorts.every((c) => c.actions.every((a) => a === "no-op"))).toBe(true);

    if (backend === "local") {
      expect(existsSync(join(dir, "coho.lock"))).toBe(true);
      expect(existsSync(join(dir, "coho.production.lock"))).toBe(true);
      expect(existsSync(join(dir, ".coho", "environments", "production", "history.jsonl"))).toBe(true);
    } else {
      const schemas = await queryState(stateUrl(dir)!, "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'coho%' ORDER BY 1");
      expect(schemas.map((r) => r.schema_name)).toEqual(["coho", "coho_production"]);
      expect(existsSync(join(dir, "coho.production.lock"))).toBe(true);
    }
  });

  it("prints the environment in the plan, and history keeps each environment's applies apart", async () => {
    const human = await coho(dir, ["--env", "production", "plan"], PROD_ENV);
    expect(human.stdout).toMatch(/^Environment: production$/m);
    const markdown = await coho(dir, ["--env", "production", "plan", "--markdown"], PROD_ENV);
    expect(markdown.stdout).toContain("### coho plan (`production`)");
    const prodHistory = JSON.parse((await coho(dir, ["--env", "production", "history", "--json"], PROD_ENV)).stdout) as HistoryRecord[];
    expect(prodHistory.map((r) => [r.environment, r.totals.added])).toEqual([["production", 12]]);
    const stagingHistory = JSON.parse((await coho(dir, ["history", "--json"])).stdout) as HistoryRecord[];
    expect(stagingHistory.map((r) => [r.environment, r.totals.added])).toEqual([["staging", 9]]);
  });

  it("refuses a saved plan in another environment and applies it in its own", async () => {
    const out = join(dir, "production.plan");
    const saved = await coho(dir, ["--env", "production", "plan", "--out", out], PROD_ENV);
    expect(saved.code, saved.stderr).toBe(0);
    const elsewhere = await coho(dir, ["apply", out]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain("the saved plan was made for environment production, not for environment staging");
    expect(elsewhere.stderr).not.toMatch(/\n\s+at /);
    const here = await coho(dir, ["--env", "production", "apply", out], PROD_ENV);
    expect(here.code, here.stderr).toBe(0);
  });
});

describe("environments: bad input", () => {
  let staging: RunningEmulator;
  let production: RunningEmulator;
  let dir: string;
  beforeAll(async () => {
    staging = await emulator();
    production = await emulator({ dataImportKey: PROD_KEY });
    dir = await applyProjectFor("local", staging);
    appendFileSync(join(dir, "coho.yaml"), environmentsBlock(production));
  });
  afterAll(async () => {
    await staging.close();
    await production.close();
  });

  const withEnvironments = (block: string) => {
    const text = readFileSync(join(dir, "coho.yaml"), "utf8");
    writeFileSync(join(dir, "coho.yaml"), text.slice(0, text.indexOf("environments:")) + block);
  };
  const lineOf = (needle: string) => readFileSync(join(dir, "coho.yaml"), "utf8").split("\n").findIndex((l) => l.includes(needle)) + 1;

  it("an unknown --env is a located error with did-you-mean", async () => {
    withEnvironments(environmentsBlock(production));
    const result = await coho(dir, ["--env", "prodution", "validate"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unknown environment `prodution`");
    expect(result.stderr).toContain("did you mean `production`?");
    expect(result.stderr).toContain(`coho.yaml:${lineOf("environments:")}:`);
  });

  it("a name from COHO_ENV is shown with its control characters escaped: it cannot forge a line", async () => {
    withEnvironments(environmentsBlock(production));
    const result = await coho(dir, ["validate"], { COHO_ENV: "prod\nerror: forged line" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unknown environment `prod\\u000aerror: forged line`");
    expect(result.stderr.split("\n").some((line) => line.startsWith("error: forged line"))).toBe(false);
  });

  it("an environment's unset secret is named, located at its override, never printed", async () => {
    withEnvironments(environmentsBlock(production));
    const result = await coho(dir, ["--env", "production", "apply", "--auto-approve"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("BRAZE_PROD_IMPORT_KEY");
    expect(result.stderr).toContain(`coho.yaml:${lineOf("BRAZE_PROD_IMPORT_KEY")}:`);
    // Staging does not need production's key at all.
    expect((await coho(dir, ["validate"])).code).toBe(0);
    const leaked = await coho(dir, ["--env", "production", "plan", "--json"], PROD_ENV);
    expect(leaked.stdout + leaked.stderr).not.toContain(PROD_KEY);
  });

  // Each: the environments block, what validate must say, and the text whose line it names.
  const refusals: readonly (readonly [string, () => string, string, string | null])[] = [
    ["an override of an entry the base does not declare is a located error", () => `environments:
  staging: { default: true }
  production:
    destinations:
      brazee: { rest_endpoint: ${production.url} }
`, "environment `production` overrides destinations.brazee, which coho.yaml does not declare; did you mean `braze`?", "brazee"],
    ["an unknown setting inside an override is the schema's located error", () => `environments:
  staging: { default: true }
  production:
    destinatons: {}
`, "destinatons", "destinatons"],
    ["two environments writing to one workspace are refused", () => `environments:
  staging: { default: true }
  production:
    description: forgot to point it at production
`, "environments `staging` and `production` both write destination braze to the Braze workspace", null],
  ];
  it.each(refusals)("%s", async (_name, block, says, lineNeedle) => {
    withEnvironments(block());
    const result = await coho(dir, ["validate"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(says);
    if (lineNeedle !== null) expect(result.stderr).toContain(`coho.yaml:${lineOf(lineNeedle)}:`);
  });

  it("without a default, a command must say which environment", async () => {
    withEnvironments(`environments:
  staging: {}
  production:
    destinations:
      braze: { rest_endpoint: ${production.url} }
`);
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("none is the default: say which with --env NAME or COHO_ENV");
    expect((await coho(dir, ["--env", "staging", "validate"])).code).toBe(0);
  });

  it("an environment's vars sit between the declared default and --var", async () => {
    const text = readFileSync(join(dir, "coho.yaml"), "utf8");
    const base = text.slice(0, text.indexOf("environments:")).replace("members_a.csv", "members_${var:file}.csv");
    writeFileSync(join(dir, "coho.yaml"), `${base}vars:
  file: { type: string, default: a }
environments:
  staging: { default: true }
  production:
    destinations:
      braze: { rest_endpoint: ${production.url} }
    vars: { file: b }
`);
    writeMembers(dir, "a", ids(2));
    writeMembers(dir, "b", ids(7, 50));
    const rows = async (args: string[]) => (JSON.parse((await coho(dir, [...args, "plan", "--json"])).stdout) as Plan).cohorts.find((c) => c.address === "cohorts.alpha")!.rows;
    expect(await rows([])).toBe(2);
    expect(await rows(["--env", "production"])).toBe(7);
    expect(await rows(["--env", "production", "--var", "file=a"])).toBe(2);
  });

  it("state remembers its environment: moving default: true does not hand one environment's state to another", async () => {
    withEnvironments(environmentsBlock(production));
    writeMembers(dir, "a", ids(5));
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "coho.lock"), "utf8")).environment).toBe("staging");
    withEnvironments(environmentsBlock(production).replace("default: true\n", "description: moved\n").replace("description: the live workspace", "default: true"));
    const moved = await coho(dir, ["plan"], PROD_ENV);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain("this state belongs to environment staging, not production: did `default: true` move");
    expect(moved.stdout).not.toContain("No changes");
    withEnvironments(environmentsBlock(production));
    expect((await coho(dir, ["plan"])).code).toBe(0);
  });

  it("--env on a project without environments is refused, not ignored", async () => {
    withEnvironments("");
    const result = await coho(dir, ["--env", "production", "validate"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("coho.yaml declares no `environments:`");
  });
});
