import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildProgram } from "../../src/cli/program.js";
import { EXAMPLES, REPO_ROOT } from "../helpers/fixtures.js";
import { readAction, readWorkflow, type WorkflowJob, type WorkflowStep } from "../helpers/workflow-runner.js";

const workflowPath = join(EXAMPLES, "gitops", ".github", "workflows", "coho.yml");
const workflow = readWorkflow(workflowPath);
const plan = workflow.jobs.plan as WorkflowJob;
const apply = workflow.jobs["apply-staging"] as WorkflowJob;
const applyProduction = workflow.jobs["apply-production"] as WorkflowJob;
/** The coho action (action.yml at the repository root) the workflow's jobs use. */
const action = readAction(REPO_ROOT);
const actionJob: WorkflowJob = { steps: action.runs.steps };
const scripts = (job: WorkflowJob) => job.steps.map((s) => s.run ?? "").join("\n");
const stepNamed = (job: WorkflowJob, prefix: string) => job.steps.find((s) => s.name?.startsWith(prefix));
const cohoStep = (job: WorkflowJob): WorkflowStep => job.steps.find((s) => s.uses?.startsWith("your-org/coho@"))!;

/** Every `coho …` invocation in the workflow's run: scripts, as argument lists. */
function cohoCommands(): string[][] {
  const commands: string[][] = [];
  for (const job of [...Object.values(workflow.jobs), actionJob]) {
    for (const line of scripts(job).split("\n")) {
      const match = /(?:^|\s|\$\()coho\s+([^>|;&)]*)/.exec(line.trim());
      if (match && !line.trim().startsWith("#") && !line.includes("npm install") && !line.includes("::error") && !line.trim().startsWith("printf")) commands.push(match[1]!.trim().split(/\s+/));
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
    expect(applyProduction.if).toBe(apply.if);
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
    for (const job of [plan, apply, applyProduction]) {
      expect(cohoStep(job).with).toMatchObject({ "coho-tarball-url": "${{ env.COHO_TARBALL_URL }}", "coho-tarball-sha256": "${{ env.COHO_TARBALL_SHA256 }}" });
    }
    expect(action.inputs?.["coho-tarball-sha256"]?.required).toBe(true);
    const install = stepNamed(actionJob, "Install coho")!.run!;
    const lines = install.split("\n");
    const check = lines.findIndex((l) => l.includes("sha256sum --check --strict"));
    const npm = lines.findIndex((l) => l.includes("npm install"));
    expect(check).toBeGreaterThan(-1);
    expect(npm).toBeGreaterThan(check);
    expect(lines[npm]).toContain('"$RUNNER_TEMP/coho.tgz"');
    for (const text of [readFileSync(workflowPath, "utf8"), readFileSync(join(REPO_ROOT, "action.yml"), "utf8")]) {
      expect(text).not.toMatch(/npm install --global coho\b|npx (--yes )?coho\b/);
    }
  });

  it("requires BRAZE_PARTNER explicitly: no emulator default, in the workflow or in coho.yaml", () => {
    expect(workflow.env.BRAZE_PARTNER).toBe("");
    for (const job of [plan, apply, applyProduction]) {
      const names = job.steps.map((s) => s.name ?? s.uses);
      expect(stepNamed(job, "Check settings")!.run).toContain('if [ -z "$BRAZE_PARTNER" ]');
      expect(names.indexOf("Check settings")).toBeLessThan(names.indexOf(cohoStep(job).uses));
    }
    const config = parse(readFileSync(join(EXAMPLES, "gitops", "coho.yaml"), "utf8")) as { destinations: { braze: { partner: string } }; state: { backend: string; url: string } };
    expect(config.destinations.braze.partner).toBe("${env:BRAZE_PARTNER}");
    expect(readFileSync(workflowPath, "utf8")).not.toContain("coho-emulator");
  });

  it("keeps state in PostgreSQL from a secret, with no cache or artifact of .coho/", () => {
    const config = parse(readFileSync(join(EXAMPLES, "gitops", "coho.yaml"), "utf8")) as { state: { backend: string; url: string } };
    expect(config.state).toEqual({ backend: "postgres", url: "${env:COHO_STATE_URL}" });
    expect(cohoStep(plan).with?.["state-url"]).toBe("${{ secrets.COHO_STATE_URL }}");
    expect(cohoStep(apply).with?.["state-url"]).toBe("${{ secrets.COHO_STATE_URL }}");
    expect(cohoStep(applyProduction).with?.["state-url"]).toBe("${{ secrets.COHO_STATE_URL }}");
    for (const step of action.runs.steps.filter((s) => /\bcoho -C\b/.test(s.run ?? ""))) expect(step.env?.COHO_STATE_URL, step.name).toBe("${{ inputs.state-url }}");
    const uses = Object.values(workflow.jobs).flatMap((j) => j.steps.map((s) => s.uses).filter(Boolean));
    expect(uses.every((u) => /^(actions\/(checkout|setup-node)@v4|your-org\/coho@v[\d.]+)$/.test(u!))).toBe(true);
    expect(action.runs.steps.every((s) => s.uses === undefined)).toBe(true);
    // The only thing any job commits is the coho.lock mirror (no member key), and only after an apply.
    expect(JSON.stringify(plan.steps)).not.toMatch(/\bgit (add|commit|push)\b/);
    const commitStep = stepNamed(actionJob, "Commit the coho.lock mirror")!;
    expect(commitStep.if).toContain("steps.apply.outputs.exitcode != ''");
    const commit = commitStep.run!;
    expect(commit).toContain('lock="$COHO_DIR/coho.lock"');
    expect(commit).toContain('lock="$COHO_DIR/coho.$COHO_ENV.lock"');
    expect(commit.match(/git add .*/g)).toEqual(['git add -- "$lock"']);
    expect(commit).not.toMatch(/\.coho\/|git add (-A|--all|\.)/);
  });

  it("never gives Braze keys to the plan job; gives each apply job its own environment's keys only, behind a GitHub environment", () => {
    expect(JSON.stringify(workflow.env)).not.toMatch(/secrets\./);
    expect(Object.keys(plan.env ?? {})).not.toEqual(expect.arrayContaining(["BRAZE_PARTNER_API_KEY"]));
    expect(JSON.stringify(plan)).not.toMatch(/BRAZE_(PRODUCTION_)?(PARTNER_API_KEY|DATA_IMPORT_KEY)/);
    expect(apply.env).toEqual({ BRAZE_PARTNER_API_KEY: "${{ secrets.BRAZE_PARTNER_API_KEY }}", BRAZE_DATA_IMPORT_KEY: "${{ secrets.BRAZE_DATA_IMPORT_KEY }}" });
    expect(applyProduction.env).toEqual({ BRAZE_PRODUCTION_PARTNER_API_KEY: "${{ secrets.BRAZE_PRODUCTION_PARTNER_API_KEY }}", BRAZE_PRODUCTION_DATA_IMPORT_KEY: "${{ secrets.BRAZE_PRODUCTION_DATA_IMPORT_KEY }}" });
    expect(apply.environment).toBe("braze-staging");
    expect(applyProduction.environment).toBe("braze-production");
  });

  it("plans every environment in one comment, applies staging on merge and production only after it", () => {
    const config = parse(readFileSync(join(EXAMPLES, "gitops", "coho.yaml"), "utf8")) as { environments: Record<string, { default?: boolean }> };
    expect(Object.keys(config.environments)).toEqual(["staging", "production"]);
    expect(config.environments.staging!.default).toBe(true);
    expect(cohoStep(plan).with?.environments).toBe(Object.keys(config.environments).join(" "));
    expect(cohoStep(apply).with?.environment).toBe("staging");
    expect(cohoStep(applyProduction).with?.environment).toBe("production");
    expect(applyProduction.needs).toBe("apply-staging");
    expect(Object.keys(workflow.jobs)).toEqual(["plan", "apply-staging", "apply-production"]);
    // Every coho call in the action works on the chosen environment.
    for (const step of action.runs.steps.filter((s) => /\bcoho -C\b/.test(s.run ?? ""))) expect(step.env?.COHO_ENV, step.name).toBe("${{ inputs.environment }}");
  });

  it("cancels superseded plans per pull request; applies queue and never cancel", () => {
    expect(plan.concurrency).toEqual({ group: "coho-plan-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
    expect(apply.concurrency).toEqual({ group: "coho-apply-staging", "cancel-in-progress": false });
    expect(applyProduction.concurrency).toEqual({ group: "coho-apply-production", "cancel-in-progress": false });
    expect(plan.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    // contents: write only to push the coho.lock mirror back (see the previous test).
    expect(apply.permissions).toEqual({ contents: "write", "pull-requests": "write" });
    expect(applyProduction.permissions).toEqual({ contents: "write", "pull-requests": "write" });
  });

  it("finds its own comment over every page, by the bot's login and the marker, and skips commenting for forks", () => {
    const comment = stepNamed(actionJob, "Comment the plan")!;
    expect(comment.run).toContain("gh api --paginate");
    expect(comment.run).toContain("per_page=100");
    expect(comment.run).toContain('.user.login == \\"$COMMENT_AUTHOR\\"');
    expect(comment.run).toContain('startswith(\\"<!-- coho-plan -->\\")');
    expect(comment.run).toContain('if [ ! -s "$RUNNER_TEMP/plan.md" ]');
    expect(comment.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
    expect(stepNamed(actionJob, "Fork pull request")!.if).toContain("github.event.pull_request.head.repo.full_name != github.repository");
    expect(comment.env?.COMMENT_AUTHOR).toBe("${{ inputs.comment-author }}");
    expect(action.inputs?.["comment-author"]?.default).toBe("github-actions[bot]");
  });

  it("checks credentials, applies with --lock-timeout, and posts the result to the merged pull request", () => {
    const names = actionJob.steps.map((s) => s.name ?? s.uses);
    expect(names.indexOf("Check credentials and connections")).toBeLessThan(names.indexOf("Apply"));
    expect(stepNamed(actionJob, "Check credentials")!.if).toBe("inputs.command == 'apply'");
    expect(stepNamed(actionJob, "Apply")!.run).toContain('coho -C "$COHO_DIR" --lock-timeout "$COHO_LOCK_TIMEOUT" apply --auto-approve --json');
    expect(cohoStep(apply).with?.["lock-timeout"]).toMatch(/^\d+m$/);
    const post = stepNamed(actionJob, "Post the result")!;
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

  it("puts several environments' plans into one comment under GitHub's limit: a share each, whole sections left out with a note, the worst exit code", () => {
    const dir = mkdtempSync(join(tmpdir(), "coho-plan-step-"));
    // A coho stand-in: each environment's plan as `coho plan --markdown` prints it, sized and exiting as the test says.
    writeFileSync(join(dir, "coho"), `#!/usr/bin/env bash
limit="\${@: -1}"
case "$COHO_ENV" in
  staging) rows=400; code=2 ;;      # a plan that keeps to its share
  qa) rows=3000; code=1 ;;          # a failure listing that does not
  production) rows=10; code=0 ;;
esac
printf '<!-- coho-plan -->\\n### coho plan (\\x60%s\\x60): share %s\\n\\n| cohort | action |\\n|---|---|\\n' "$COHO_ENV" "$limit"
for i in $(seq "$rows"); do printf '| \\x60cohorts.c%05d\\x60 | create |\\n' "$i"; done
exit "$code"
`);
    chmodSync(join(dir, "coho"), 0o755);
    const script = stepNamed(actionJob, "Plan")!.run!;
    expect(script).not.toContain("${{");
    writeFileSync(join(dir, "step.sh"), script);
    const run = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", join(dir, "step.sh")], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: `${dir}:${process.env.PATH}`, RUNNER_TEMP: dir, GITHUB_OUTPUT: join(dir, "output"), COHO_DIR: ".", COHO_ENV: "", COHO_ENVIRONMENTS: "staging qa production" },
    });
    expect(run.status, run.stderr).toBe(1); // the worst: qa failed
    expect(readFileSync(join(dir, "output"), "utf8")).toBe("exitcode=1\n");
    const comment = readFileSync(join(dir, "plan.md"), "utf8");
    expect(comment.length).toBeLessThanOrEqual(65_536);
    expect(comment.match(/<!-- coho-plan -->/g)).toEqual(["<!-- coho-plan -->"]);
    expect(comment.startsWith("<!-- coho-plan -->\n### coho plan (`staging`): share 20000\n")).toBe(true);
    expect(comment.match(/^### .*$/gm)).toEqual(["### coho plan (`staging`): share 20000", "### coho plan (`qa`) was left out", "### coho plan (`production`): share 20000"]);
    expect(comment).toContain("| `cohorts.c00400` | create |\n");
    expect(comment).not.toContain("(`qa`): share");
    // Every table line is a whole row; sections are apart, so no line becomes a heading.
    for (const line of comment.split("\n").filter((l) => l.startsWith("| `"))) expect(line).toMatch(/^\| `cohorts\.c\d{5}` \| create \|$/);
    expect(comment.split("\n---\n")).toHaveLength(3);
    expect(comment).toContain("\n\n---\n\n");
  });
});

