import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildProgram } from "../../src/cli/program.js";
import { EXAMPLES } from "../helpers/fixtures.js";
import { readWorkflow, type WorkflowJob } from "../helpers/workflow-runner.js";

const workflowPath = join(EXAMPLES, "gitops", ".github", "workflows", "coho.yml");
const workflow = readWorkflow(workflowPath);
const plan = workflow.jobs.plan as WorkflowJob;
const apply = workflow.jobs.apply as WorkflowJob;
const scripts = (job: WorkflowJob) => job.steps.map((s) => s.run ?? "").join("\n");
const stepNamed = (job: WorkflowJob, prefix: string) => job.steps.find((s) => s.name?.startsWith(prefix));

/** Every `coho …` invocation in the workflow's run: scripts, as argument lists. */
function cohoCommands(): string[][] {
  const commands: string[][] = [];
  for (const job of Object.values(workflow.jobs)) {
    for (const line of scripts(job).split("\n")) {
      const match = /(?:^|\s|\$\()coho\s+([^>|;&)]*)/.exec(line.trim());
      if (match && !line.trim().startsWith("#") && !line.includes("npm install") && !line.includes("::error")) commands.push(match[1]!.trim().split(/\s+/));
    }
  }
  return commands;
}

const program = buildProgram({ makeContext: () => { throw new Error("not run"); }, setExitCode: () => undefined });
const flagsOf = (command: Command) => command.options.flatMap((o: Option) => [o.long, o.short].filter((f): f is string => Boolean(f)));

describe("examples/gitops workflow", () => {
  it("plans on pull_request only (never pull_request_target) and applies on pushes to main", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push", "workflow_dispatch"]);
    expect(readFileSync(workflowPath, "utf8")).not.toContain("pull_request_target");
    expect(plan.if).toBe("github.event_name == 'pull_request'");
    expect(apply.if).not.toContain("pull_request");
    expect((workflow.on.push as { branches: string[] }).branches).toEqual(["main"]);
  });

  it("runs when the workflow itself changes, on pull requests and pushes alike", () => {
    for (const trigger of ["pull_request", "push"]) {
      const paths = (workflow.on[trigger] as { paths: string[] }).paths;
      expect(paths).toContain(".github/workflows/coho.yml");
      expect(paths).toEqual(expect.arrayContaining(["coho.yaml", "cohorts/**", "models/**"]));
    }
  });

  it("installs coho pinned by a SHA-256 of its tarball, never by a bare package name", () => {
    expect(workflow.env.COHO_TARBALL_SHA256).toMatch(/^[0-9a-f]{64}$/);
    for (const job of [plan, apply]) {
      const install = stepNamed(job, "Install coho")!.run!;
      const lines = install.split("\n");
      const check = lines.findIndex((l) => l.includes("sha256sum --check --strict"));
      const npm = lines.findIndex((l) => l.includes("npm install"));
      expect(check).toBeGreaterThan(-1);
      expect(npm).toBeGreaterThan(check);
      expect(lines[npm]).toContain('"$RUNNER_TEMP/coho.tgz"');
    }
    expect(readFileSync(workflowPath, "utf8")).not.toMatch(/npm install --global coho\b|npx (--yes )?coho\b/);
  });

  it("requires BRAZE_PARTNER explicitly: no emulator default, in the workflow or in coho.yaml", () => {
    expect(workflow.env.BRAZE_PARTNER).toBe("");
    expect(stepNamed(plan, "Install coho")!.run).toContain('if [ -z "$BRAZE_PARTNER" ]');
    const config = parse(readFileSync(join(EXAMPLES, "gitops", "coho.yaml"), "utf8")) as { destinations: { braze: { partner: string } }; state: { backend: string; url: string } };
    expect(config.destinations.braze.partner).toBe("${env:BRAZE_PARTNER}");
    expect(readFileSync(workflowPath, "utf8")).not.toContain("coho-emulator");
  });

  it("keeps state in PostgreSQL from a secret, with no cache or artifact of .coho/", () => {
    const config = parse(readFileSync(join(EXAMPLES, "gitops", "coho.yaml"), "utf8")) as { state: { backend: string; url: string } };
    expect(config.state).toEqual({ backend: "postgres", url: "${env:COHO_STATE_URL}" });
    expect(plan.env?.COHO_STATE_URL).toBe("${{ secrets.COHO_STATE_URL }}");
    expect(apply.env?.COHO_STATE_URL).toBe("${{ secrets.COHO_STATE_URL }}");
    const uses = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.uses).filter(Boolean));
    expect(uses.every((u) => /^actions\/(checkout|setup-node)@v4$/.test(u!))).toBe(true);
    // The only thing any job commits is the coho.lock mirror (no member key), and only the apply job does.
    expect(JSON.stringify(plan.steps)).not.toMatch(/\bgit (add|commit|push)\b/);
    const commit = stepNamed(apply, "Commit the coho.lock mirror")!.run!;
    expect(commit).toContain('lock="$PROJECT_DIR/coho.lock"');
    expect(commit.match(/git add .*/g)).toEqual(['git add -- "$lock"']);
    expect(commit).not.toMatch(/\.coho\/|git add (-A|--all|\.)/);
  });

  it("never gives Braze keys to the plan job; gives them to the apply job only, behind an environment", () => {
    expect(JSON.stringify(workflow.env)).not.toMatch(/secrets\./);
    expect(Object.keys(plan.env ?? {})).not.toEqual(expect.arrayContaining(["BRAZE_PARTNER_API_KEY"]));
    expect(JSON.stringify(plan)).not.toMatch(/BRAZE_PARTNER_API_KEY|BRAZE_DATA_IMPORT_KEY/);
    expect(apply.env).toMatchObject({ BRAZE_PARTNER_API_KEY: "${{ secrets.BRAZE_PARTNER_API_KEY }}", BRAZE_DATA_IMPORT_KEY: "${{ secrets.BRAZE_DATA_IMPORT_KEY }}" });
    expect(apply.environment).toBe("braze-production");
  });

  it("cancels superseded plans per pull request; applies queue and never cancel", () => {
    expect(plan.concurrency).toEqual({ group: "coho-plan-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
    expect(apply.concurrency).toEqual({ group: "coho-apply", "cancel-in-progress": false });
    expect(plan.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    // contents: write only to push the coho.lock mirror back (see the previous test).
    expect(apply.permissions).toEqual({ contents: "write", "pull-requests": "write" });
  });

  it("finds its own comment over every page, by the bot's login and the marker, and skips commenting for forks", () => {
    const comment = stepNamed(plan, "Comment the plan")!;
    expect(comment.run).toContain("gh api --paginate");
    expect(comment.run).toContain("per_page=100");
    expect(comment.run).toContain('.user.login == \\"$COMMENT_AUTHOR\\"');
    expect(comment.run).toContain('startswith(\\"<!-- coho-plan -->\\")');
    expect(comment.run).toContain('if [ ! -s "$RUNNER_TEMP/plan.md" ]');
    expect(comment.if).toContain("env.FORK == 'false'");
    expect(stepNamed(plan, "Fork pull request")!.if).toContain("env.FORK == 'true'");
    expect(plan.env?.FORK).toBe("${{ github.event.pull_request.head.repo.full_name != github.repository }}");
    expect(workflow.env.COMMENT_AUTHOR).toBe("github-actions[bot]");
  });

  it("checks credentials, applies with --lock-timeout, and posts the result to the merged pull request", () => {
    const names = apply.steps.map((s) => s.name ?? s.uses);
    expect(names.indexOf("Check credentials and connections")).toBeLessThan(names.indexOf("Apply"));
    expect(stepNamed(apply, "Apply")!.run).toMatch(/coho -C "\$PROJECT_DIR" --lock-timeout \d+m apply --auto-approve --json/);
    const post = stepNamed(apply, "Post the result")!;
    expect(post.if).toBe("always() && steps.apply.outputs.exitcode != ''");
    expect(post.run).toContain("commits/$GITHUB_SHA/pulls");
    expect(post.run).toContain("history --last 1 --markdown");
  });

  it("runs only coho commands and flags that exist", () => {
    const globalFlags = flagsOf(program);
    const names: string[] = [];
    for (const args of cohoCommands()) {
      const tokens = [...args];
      // Global options first (with their values), then the subcommand and its flags.
      while (tokens[0]?.startsWith("-")) {
        const flag = tokens.shift()!;
        expect(globalFlags, `global flag ${flag}`).toContain(flag);
        if (flag === "-C" || flag === "--lock-timeout") tokens.shift();
      }
      if (tokens.length === 0) continue; // coho --version
      const name = tokens.shift()!;
      names.push(name);
      const command = program.commands.find((c) => c.name() === name);
      expect(command, `coho ${name}`).toBeDefined();
      for (const flag of tokens.filter((t) => t.startsWith("-"))) expect(flagsOf(command!), `coho ${name} ${flag}`).toContain(flag);
    }
    expect([...new Set(names)].sort()).toEqual(["apply", "check", "history", "plan", "validate"].sort());
  });
});
