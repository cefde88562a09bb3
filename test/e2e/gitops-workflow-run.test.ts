import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { queryState } from "../helpers/apply-project.js";
import { emulator, getJson } from "../helpers/emulator.js";
import { FakeGithub } from "../helpers/fake-github.js";
import { renderGfm, tablesOf } from "../helpers/github-markdown.js";
import { EXAMPLES, REPO_ROOT } from "../helpers/fixtures.js";
import { createDatabase } from "../helpers/project.js";
import { readWorkflow, runJob, type JobResult, type JobRun } from "../helpers/workflow-runner.js";

const example = join(EXAMPLES, "gitops");
const workflow = readWorkflow(join(example, ".github", "workflows", "coho.yml"));
const REPO = "acme/cohorts";
const PR = 7;
const MERGE_SHA = "5e1f00d0c0ffee5e1f00d0c0ffee5e1f00d0c0ff";
const STAGING_SECRETS = { BRAZE_PARTNER_API_KEY: "emulator-partner-key", BRAZE_DATA_IMPORT_KEY: "emulator-data-import-key" };
/** Production's workspace has keys of its own, secrets of the `braze-production` GitHub environment. */
const PRODUCTION_KEYS = { partnerApiKey: "production-partner-key", dataImportKey: "production-data-import-key" };
const PRODUCTION_SECRETS = { BRAZE_PRODUCTION_PARTNER_API_KEY: PRODUCTION_KEYS.partnerApiKey, BRAZE_PRODUCTION_DATA_IMPORT_KEY: PRODUCTION_KEYS.dataImportKey };
/** Where GitHub keeps the Braze keys: on the GitHub environment each apply job names, so no other job can read them. */
const ENVIRONMENT_SECRETS = { "braze-staging": STAGING_SECRETS, "braze-production": PRODUCTION_SECRETS };
/** A job runs several coho processes and git; on a loaded 2-core machine one can take a minute or more. */
const JOB_TIMEOUT = 240_000;

/** git in `cwd`, with an identity for the commits the test itself makes (the workflow sets its own). */
const git = (cwd: string, ...args: string[]): string =>
  execFileSync("git", ["-c", "user.name=maintainer", "-c", "user.email=maintainer@example.com", ...args], { cwd, encoding: "utf8" }).trim();

/** The coho action the workflow names, fetched by a runner from the coho repository: this checkout's action.yml. */
const ACTIONS = { "your-org/coho": REPO_ROOT };

/**
 * The example workflow's shell steps and the coho action's (action.yml), run as a
 * runner would, against the Braze emulator and a throwaway PostgreSQL holding the
 * state. Only GitHub's API (and the npm registry) are stood in for, by FakeGithub.
 */
describe("examples/gitops workflow, run step by step", () => {
  /** The staging workspace (the default environment). */
  let emu: RunningEmulator;
  /** The production workspace. */
  let prodEmu: RunningEmulator;
  let github: FakeGithub;
  let stateUrl: string;
  let tarball: { url: string; sha256: string };
  let workspace: string;
  /** The repository on GitHub the checkout came from (a bare repository here). */
  let origin: string;

  beforeAll(async () => {
    emu = await emulator();
    prodEmu = await emulator(PRODUCTION_KEYS);
    github = new FakeGithub();
    stateUrl = await createDatabase(inject("pgUrl"), "gitops");
    const packDir = mkdtempSync(join(tmpdir(), "coho-pack-"));
    // The tarball the pinned install downloads: this very build, packed as a release would be.
    const name = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", packDir], { cwd: REPO_ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
    const path = join(packDir, name);
    tarball = { url: `file://${path}`, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
    // The checkout: the example project as the repository holds it.
    workspace = mkdtempSync(join(tmpdir(), "coho-checkout-"));
    cpSync(example, workspace, { recursive: true });
    git(workspace, "init", "--quiet", "--initial-branch=main");
    git(workspace, "add", "--all");
    git(workspace, "commit", "--quiet", "--message", "the coho project");
    origin = join(mkdtempSync(join(tmpdir(), "coho-origin-")), "cohorts.git");
    git(workspace, "clone", "--quiet", "--bare", workspace, origin);
    git(workspace, "remote", "add", "origin", origin);
  });

  /** A file as the branch on "GitHub" holds it. */
  const atOrigin = (path: string) => git(origin, "show", `main:${path}`);

  /** The merge the apply job runs for: the workspace's changes committed and on origin. */
  const merge = (message: string) => {
    git(workspace, "add", "--all");
    git(workspace, "commit", "--quiet", "--message", message);
    git(workspace, "push", "--quiet", "origin", "HEAD:main");
  };

  const applyJob = (job: "apply-staging" | "apply-production" = "apply-staging"): Promise<JobResult> =>
    runJob(workflow, job, {
      workspace,
      eventName: "push",
      event: {},
      repository: REPO,
      sha: MERGE_SHA,
      secrets: { COHO_STATE_URL: stateUrl },
      environmentSecrets: ENVIRONMENT_SECRETS,
      workflowEnv: settings(),
      path: github.path,
      runnerEnv: github.env,
      actions: ACTIONS,
    });
  afterAll(async () => {
    await emu.close();
    await prodEmu.close();
  });

  /** The workflow's env: as a repository owner fills it in after copying the example. */
  const settings = () => ({ COHO_TARBALL_URL: tarball.url, COHO_TARBALL_SHA256: tarball.sha256, BRAZE_REST_ENDPOINT: emu.url, BRAZE_PRODUCTION_REST_ENDPOINT: prodEmu.url, BRAZE_PARTNER: "coho-emulator" });

  const pullRequest = (fork: boolean, overrides: Partial<JobRun> = {}): Promise<JobResult> =>
    runJob(workflow, "plan", {
      workspace,
      eventName: "pull_request",
      event: { pull_request: { number: PR, head: { repo: { full_name: fork ? "mallory/cohorts" : REPO } } } },
      repository: REPO,
      sha: "pr-merge-sha",
      // GitHub gives pull requests from forks no secrets at all; the plan job
      // names no GitHub environment, so it never sees the Braze keys.
      secrets: fork ? {} : { COHO_STATE_URL: stateUrl },
      environmentSecrets: fork ? {} : ENVIRONMENT_SECRETS,
      workflowEnv: settings(),
      path: github.path,
      runnerEnv: github.env,
      actions: ACTIONS,
      ...overrides,
    });

  const step = (result: JobResult, name: string) => {
    const found = result.steps.find((s) => s.name.startsWith(name));
    if (!found) throw new Error(`no step ${name}`);
    return found;
  };

  it("as shipped, refuses to run until BRAZE_PARTNER is set, and never installs an unverified tarball", async () => {
    const unset = await pullRequest(false, { workflowEnv: { ...settings(), BRAZE_PARTNER: "" } });
    expect(unset.success).toBe(false);
    expect(step(unset, "Check settings").stdout).toContain("::error::BRAZE_PARTNER is empty");
    expect(unset.steps.map((s) => s.name)).not.toContain("Install coho (pinned)"); // the action never ran

    const tampered = await pullRequest(false, { workflowEnv: { ...settings(), COHO_TARBALL_SHA256: "0".repeat(64) } });
    expect(tampered.success).toBe(false);
    expect(step(tampered, "Install coho").stderr).toMatch(/FAILED|did NOT match/);
    expect(readdirSync(github.globalBin)).toEqual([]);
    expect(github.read().calls).toEqual([]);
  }, JOB_TIMEOUT);

  it("plans every environment of a pull request into one comment, a section each, found again past the first page and updated in place", async () => {
    // 120 comments by people (ours will be on page 2), one of them imitating ours.
    github.seedComments(PR, Array.from({ length: 120 }, (_, i) => ({ login: i === 5 ? "mallory" : `reviewer${i}`, body: i === 5 ? "<!-- coho-plan -->\nfake" : `looks good ${i}` })));
    const first = await pullRequest(false);
    expect(first.steps.map((s) => [s.name, s.status]), first.steps.map((s) => s.stdout + s.stderr).join("\n")).toEqual([
      ["actions/checkout@v4", "skipped"],
      ["actions/setup-node@v4", "skipped"],
      ["Check settings", "success"],
      ["Install coho (pinned)", "success"],
      ["Validate", "success"],
      ["Plan", "success"],
      ["Comment the plan (one comment, updated in place)", "success"],
      ["Fork pull request (no comment)", "skipped"],
      ["Check credentials and connections", "skipped"],
      ["Apply", "skipped"],
      ["Post the result to the merged pull request", "skipped"],
      ["Commit the coho.lock mirror", "skipped"],
    ]);
    expect(first.outputs.coho).toEqual({ exitcode: "2" });
    // Braze keys are never given to plan, staging's or production's: validate warns, nothing fails.
    expect(step(first, "Validate").stderr).toContain("BRAZE_PARTNER_API_KEY is not set");
    expect(step(first, "Validate").stderr).toContain("BRAZE_PRODUCTION_PARTNER_API_KEY is not set");
    const secretValues = [...Object.values(STAGING_SECRETS), ...Object.values(PRODUCTION_SECRETS)];
    for (const ran of first.steps.filter((s) => s.status !== "skipped")) {
      expect(Object.keys(ran.env), ran.name).not.toEqual(expect.arrayContaining(["BRAZE_PRODUCTION_PARTNER_API_KEY"]));
      expect(Object.keys(ran.env), ran.name).not.toEqual(expect.arrayContaining(["BRAZE_PARTNER_API_KEY"]));
      for (const value of secretValues) expect(Object.values(ran.env), ran.name).not.toContain(value);
    }
    const afterFirst = github.read();
    const ours = afterFirst.comments[String(PR)]!.filter((c) => c.user.login === "github-actions[bot]");
    expect(ours).toHaveLength(1);
    // One marker, at the top; one section per environment, staging first, each headed by its environment.
    expect(ours[0]!.body).toMatch(/^<!-- coho-plan -->\n### coho plan \(`staging`\): /);
    expect(ours[0]!.body.match(/<!-- coho-plan -->/g)).toHaveLength(1);
    expect(ours[0]!.body.match(/^### coho plan \(`(\w+)`\)/gm)).toEqual(["### coho plan (`staging`)", "### coho plan (`production`)"]);
    // As GitHub shows it: a table per environment, each with the new cohort.
    const tables = tablesOf(renderGfm(ours[0]!.body));
    expect(tables).toHaveLength(2);
    for (const table of tables) expect(table.rows.map((r) => r[0])).toContain("<code>cohorts.vip_customers</code>");
    expect(first.summary).toContain("### coho plan (`staging`)");
    expect(first.summary).toContain("### coho plan (`production`)");

    // A second push: the data changed; the same comment is edited, no new one appears.
    const csv = join(workspace, "data", "customers.csv");
    writeFileSync(csv, `${readFileSync(csv, "utf8")}c9999,5000\n`);
    const second = await pullRequest(false);
    expect(second.success).toBe(true);
    const afterSecond = github.read();
    expect(afterSecond.comments[String(PR)]).toHaveLength(afterFirst.comments[String(PR)]!.length);
    const patched = afterSecond.calls.filter((c) => c.method === "PATCH");
    expect(patched).toEqual([{ method: "PATCH", path: `repos/${REPO}/issues/comments/${ours[0]!.id}`, paginate: false }]);
    expect(afterSecond.calls.filter((c) => c.method === "GET").every((c) => c.paginate)).toBe(true);
    expect(afterSecond.comments[String(PR)]!.find((c) => c.user.login === "mallory")!.body).toBe("<!-- coho-plan -->\nfake");
    expect(afterSecond.comments[String(PR)]!.find((c) => c.id === ours[0]!.id)!.body).not.toBe(ours[0]!.body);

    // A push that breaks the configuration: the errors replace the plan, which would otherwise stay looking current.
    const config = join(workspace, "cohorts", "vip.yaml");
    const good = readFileSync(config, "utf8");
    writeFileSync(config, good.replace(/model: \w+/, "model: no_such_model"));
    try {
      const broken = await pullRequest(false);
      expect(broken.success).toBe(false);
      expect(step(broken, "Validate").status).toBe("failure");
      expect(step(broken, "Comment the plan").status).toBe("success");
      const comments = github.read().comments[String(PR)]!;
      expect(comments).toHaveLength(afterFirst.comments[String(PR)]!.length);
      const replaced = comments.find((c) => c.id === ours[0]!.id)!.body;
      expect(replaced).toMatch(/^<!-- coho-plan -->\n### coho plan \(`staging`\) failed\n/);
      expect(replaced).toContain("### coho plan (`production`) failed");
      expect(renderGfm(replaced)).toMatch(/<ul>\n<li><code>cohorts\/vip\.yaml:\d+:\d+<\/code>: <strong>error<\/strong>: .*no_such_model/);
      expect(replaced).not.toContain("cohorts.vip_customers` |");
    } finally {
      writeFileSync(config, good);
    }
  }, JOB_TIMEOUT);

  it("applies staging only on merge, behind a credential check, posts the result to the merged pull request, records history and commits coho.lock", async () => {
    const state = github.read();
    state.pullsForCommit[MERGE_SHA] = [PR];
    github.write(state);
    merge("merge pull request #7");
    // Another merge lands on GitHub while the apply runs: the coho.lock commit goes on top of it.
    const other = mkdtempSync(join(tmpdir(), "coho-other-"));
    git(other, "clone", "--quiet", origin, ".");
    writeFileSync(join(other, "NOTES.md"), "unrelated\n");
    git(other, "add", "NOTES.md");
    git(other, "commit", "--quiet", "--message", "an unrelated merge");
    git(other, "push", "--quiet", "origin", "HEAD:main");

    const result = await applyJob();
    expect(result.steps.filter((s) => s.status !== "skipped").map((s) => [s.name, s.status]), result.steps.map((s) => s.stdout + s.stderr).join("\n")).toEqual([
      ["Check settings", "success"],
      ["Install coho (pinned)", "success"],
      ["Validate", "success"],
      ["Check credentials and connections", "success"],
      ["Apply", "success"],
      ["Post the result to the merged pull request", "success"],
      ["Commit the coho.lock mirror", "success"],
    ]);
    expect(step(result, "Check credentials").stdout).toContain("All 3 checks passed.");
    const { cohorts } = await getJson<{ cohorts: { name: string; member_count: number }[] }>(`${emu.url}/_emulator/cohorts`);
    expect(cohorts.map((c) => c.name)).toEqual(["VIP customers"]);
    // Production's workspace is untouched until its own job runs.
    expect((await getJson<{ cohorts: unknown[] }>(`${prodEmu.url}/_emulator/cohorts`)).cohorts).toEqual([]);
    // The staging job was given staging's keys, never production's.
    for (const ran of result.steps.filter((s) => s.status !== "skipped")) {
      expect(Object.values(ran.env), ran.name).not.toContain(PRODUCTION_KEYS.partnerApiKey);
      expect(ran.env.BRAZE_PARTNER_API_KEY, ran.name).toBe(STAGING_SECRETS.BRAZE_PARTNER_API_KEY);
    }
    const posted = github.read().comments[String(PR)]!.filter((c) => c.body.startsWith("<!-- coho-apply -->"));
    expect(posted).toHaveLength(1);
    expect(posted[0]!.body).toContain("### coho apply (`staging`): applied");
    expect(posted[0]!.body).toContain(`| \`cohorts.vip_customers\` | create | done | ${cohorts[0]!.member_count} | 0 |`);
    expect(posted[0]!.body).toContain("actions/runs/4242");
    // As GitHub shows it: one row per cohort, and the run log a link below the table, not a bogus row.
    const html = renderGfm(posted[0]!.body);
    expect(tablesOf(html).map((t) => t.rows.map((r) => r[0]))).toEqual([["<code>cohorts.vip_customers</code>"]]);
    expect(html).toContain('<p><a href="https://github.com/acme/cohorts/actions/runs/4242">Run log</a></p>');
    expect(result.summary).toContain("coho apply (`staging`): applied");
    const rows = await queryState(stateUrl, "SELECT record FROM coho.history");
    expect(rows).toHaveLength(1);
    expect(rows[0].record).toMatchObject({ environment: "staging", outcome: "applied", serial_before: 0, serial_after: 1, who: `GitHub Actions run 4242 (${REPO})` });
    // Nothing with member keys is left on the runner for a cache or an artifact.
    expect(existsSync(join(workspace, ".coho", "snapshots"))).toBe(false);
    expect(existsSync(join(workspace, ".coho", "journal.jsonl"))).toBe(false);
    // The mirror is on the branch, after the other merge, by the bot, skipping CI; it names no member.
    expect(step(result, "Commit the coho.lock").stdout).toContain("coho.lock committed to main");
    const lock = JSON.parse(atOrigin("coho.lock")) as { serial: number };
    expect(lock.serial).toBe(1);
    expect(atOrigin("coho.lock")).toBe(readFileSync(join(workspace, "coho.lock"), "utf8").trim());
    const ids = readFileSync(join(workspace, "data", "customers.csv"), "utf8").split("\n").slice(1).map((line) => line.split(",")[0]).filter(Boolean);
    expect(ids.length).toBeGreaterThan(3);
    for (const id of ids) expect(atOrigin("coho.lock")).not.toContain(`"${id}"`);
    expect(git(origin, "log", "--format=%an|%s", "-2", "main").split("\n")).toEqual([
      "github-actions[bot]|coho.lock after apply of staging (run 4242) [skip ci]",
      "maintainer|an unrelated merge",
    ]);
    expect(existsSync(join(workspace, "coho.production.lock"))).toBe(false);
  }, JOB_TIMEOUT);

  it("applies production in its own job after staging: production's workspace, state, history and coho.production.lock only", async () => {
    const stagingLock = atOrigin("coho.lock");
    const result = await applyJob("apply-production");
    expect(result.steps.filter((s) => s.status !== "skipped").map((s) => [s.name, s.status]), result.steps.map((s) => s.stdout + s.stderr).join("\n")).toEqual([
      ["Check settings", "success"],
      ["Install coho (pinned)", "success"],
      ["Validate", "success"],
      ["Check credentials and connections", "success"],
      ["Apply", "success"],
      ["Post the result to the merged pull request", "success"],
      ["Commit the coho.lock mirror", "success"],
    ]);
    // Production's keys reached this job, staging's did not.
    for (const ran of result.steps.filter((s) => s.status !== "skipped")) {
      expect(ran.env.BRAZE_PRODUCTION_PARTNER_API_KEY, ran.name).toBe(PRODUCTION_KEYS.partnerApiKey);
      expect(Object.values(ran.env), ran.name).not.toContain(STAGING_SECRETS.BRAZE_PARTNER_API_KEY);
    }
    const staging = await getJson<{ cohorts: { name: string; member_count: number }[] }>(`${emu.url}/_emulator/cohorts`);
    const production = await getJson<{ cohorts: { name: string; member_count: number }[] }>(`${prodEmu.url}/_emulator/cohorts`);
    expect(production.cohorts.map((c) => [c.name, c.member_count])).toEqual(staging.cohorts.map((c) => [c.name, c.member_count]));
    const posted = github.read().comments[String(PR)]!.filter((c) => c.body.startsWith("<!-- coho-apply -->"));
    expect(posted.map((c) => /^### coho apply \(`(\w+)`\): applied/m.exec(c.body)?.[1])).toEqual(["staging", "production"]);
    // Each environment its own history: staging's schema still holds one record, production's its first.
    expect(await queryState(stateUrl, "SELECT record FROM coho.history")).toHaveLength(1);
    const prodRows = await queryState(stateUrl, "SELECT record FROM coho_production.history");
    expect(prodRows.map((r) => r.record)).toMatchObject([{ environment: "production", outcome: "applied", serial_after: 1 }]);
    expect(step(result, "Commit the coho.lock").stdout).toContain("coho.production.lock committed to main");
    expect((JSON.parse(atOrigin("coho.production.lock")) as { serial: number }).serial).toBe(1);
    expect(atOrigin("coho.lock")).toBe(stagingLock);
    expect(git(origin, "log", "--format=%an|%s", "-1", "main")).toBe("github-actions[bot]|coho.production.lock after apply of production (run 4242) [skip ci]");
  }, JOB_TIMEOUT);

  it("plans a pull request from a fork without any secret: every environment from its committed lockfile, into the job summary, with no GitHub call", async () => {
    const callsBefore = github.read().calls.length;
    const csv = join(workspace, "data", "customers.csv");
    writeFileSync(csv, `${readFileSync(csv, "utf8")}c9998,7000\n`);
    const result = await pullRequest(true);
    expect(result.steps.filter((s) => s.status !== "skipped").map((s) => [s.name, s.status])).toEqual([
      ["Check settings", "success"],
      ["Install coho (pinned)", "success"],
      ["Validate", "success"],
      ["Plan", "success"],
      ["Fork pull request (no comment)", "success"],
    ]);
    expect(result.summary).toContain("<!-- coho-plan -->");
    expect(result.summary).toMatch(/cohorts\.vip_customers.*update/);
    // Each environment from its own mirror.
    expect(result.summary).toContain("(COHO_STATE_URL) is not set: this plan reads the committed coho.lock (serial 1)");
    expect(result.summary).toContain("(COHO_STATE_URL) is not set: this plan reads the committed coho.production.lock (serial 1)");
    expect(result.summary).toContain("### coho plan (`production`)");
    expect(result.summary).not.toContain("cannot be applied");
    expect(result.summary).toContain("comes from a fork");
    expect(step(result, "Plan").stderr).not.toContain("error");
    expect(github.read().calls).toHaveLength(callsBefore);
  }, JOB_TIMEOUT);

  it("leaves a warning, not a failed apply, when the branch refuses the coho.lock push", async () => {
    const csv = join(workspace, "data", "customers.csv");
    writeFileSync(csv, `${readFileSync(csv, "utf8")}c9997,9000\n`);
    merge("merge pull request #8");
    const hook = join(origin, "hooks", "pre-receive");
    writeFileSync(hook, "#!/bin/sh\necho 'protected branch: changes must come through a pull request' >&2\nexit 1\n");
    chmodSync(hook, 0o755);
    const before = atOrigin("coho.lock");

    const result = await applyJob();
    expect(result.success, result.steps.map((s) => s.stdout + s.stderr).join("\n")).toBe(true);
    expect(step(result, "Apply").status).toBe("success");
    expect(step(result, "Commit the coho.lock").stdout).toContain("::warning::coho.lock could not be pushed to main");
    expect(atOrigin("coho.lock")).toBe(before);
    const rows = await queryState(stateUrl, "SELECT record FROM coho.history");
    expect(rows).toHaveLength(2);
  }, JOB_TIMEOUT);
});
