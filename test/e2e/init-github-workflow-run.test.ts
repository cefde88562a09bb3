import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { FakeGithub } from "../helpers/fake-github.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { createDatabase } from "../helpers/project.js";
import { readWorkflow, runJob } from "../helpers/workflow-runner.js";

/**
 * The workflow `coho init --github` writes, run as a runner would through the
 * coho action: a new project's first pull request gets its plan as a comment.
 */
describe("the workflow of coho init --github", () => {
  it("plans the new project's first pull request through the coho action and comments the plan", async () => {
    const parent = mkdtempSync(join(tmpdir(), "coho-init-github-"));
    const init = await runCli(["init", "project", "--github"], { cwd: parent });
    expect(init.code, init.stderr).toBe(0);
    const workspace = join(parent, "project");
    const workflow = readWorkflow(join(workspace, ".github", "workflows", "coho.yml"));
    const packDir = mkdtempSync(join(tmpdir(), "coho-pack-"));
    const name = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", packDir], { cwd: REPO_ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
    const tarball = join(packDir, name);
    const github = new FakeGithub();
    const stateUrl = await createDatabase(inject("pgUrl"), "init_github");
    const result = await runJob(workflow, "plan", {
      workspace,
      eventName: "pull_request",
      event: { pull_request: { number: 1, head: { repo: { full_name: "acme/audiences" } } } },
      repository: "acme/audiences",
      sha: "pr-sha",
      secrets: { COHO_STATE_URL: stateUrl },
      workflowEnv: { COHO_TARBALL_URL: `file://${tarball}`, COHO_TARBALL_SHA256: createHash("sha256").update(readFileSync(tarball)).digest("hex") },
      path: github.path,
      runnerEnv: github.env,
      actions: { "your-org/coho": REPO_ROOT },
    });
    const ran = result.steps.filter((s) => s.status !== "skipped").map((s) => [s.name, s.status]);
    expect(ran, result.steps.map((s) => s.stdout + s.stderr).join("\n")).toEqual([
      ["Check settings", "success"],
      ["Install coho (pinned)", "success"],
      ["Validate", "success"],
      ["Plan", "success"],
      ["Comment the plan (one comment, updated in place)", "success"],
    ]);
    expect(result.outputs.coho).toEqual({ exitcode: "2" });
    const comments = github.read().comments["1"] ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toMatch(/^<!-- coho-plan -->/);
    expect(comments[0]!.body).toContain("cohorts.active_users");
  });
});
