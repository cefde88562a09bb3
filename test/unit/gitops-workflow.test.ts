import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildProgram } from "../../src/cli/program.js";
import { EXAMPLES } from "../helpers/fixtures.js";

const workflowPath = join(EXAMPLES, "gitops", ".github", "workflows", "coho.yml");

/** Every `coho …` invocation in the workflow's run: scripts, as argument lists. */
function cohoCommands(): string[][] {
  const workflow = parse(readFileSync(workflowPath, "utf8")) as { jobs: Record<string, { steps: { run?: string }[] }> };
  const commands: string[][] = [];
  for (const job of Object.values(workflow.jobs)) {
    for (const step of job.steps) {
      for (const line of (step.run ?? "").split("\n")) {
        const match = /(?:^|\s)coho\s+([^>|;&]*)/.exec(line.trim());
        if (match && !line.trim().startsWith("#") && !line.includes("npm install")) commands.push(match[1]!.trim().split(/\s+/));
      }
    }
  }
  return commands;
}

const program = buildProgram({ makeContext: () => { throw new Error("not run"); }, setExitCode: () => undefined });
const flagsOf = (command: Command) => command.options.flatMap((o: Option) => [o.long, o.short].filter((f): f is string => Boolean(f)));

describe("examples/gitops workflow", () => {
  it("is valid YAML with a plan job for pull requests and a serialized apply job for main", () => {
    const workflow = parse(readFileSync(workflowPath, "utf8")) as { on: object; jobs: Record<string, { if?: string; concurrency?: { group: string; "cancel-in-progress": boolean } }> };
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
    expect(workflow.jobs.plan?.if).toContain("pull_request");
    expect(workflow.jobs.apply?.concurrency).toEqual({ group: "coho-apply", "cancel-in-progress": false });
  });

  it("runs only coho commands and flags that exist", () => {
    const commands = cohoCommands();
    const globalFlags = flagsOf(program);
    const names: string[] = [];
    for (const args of commands) {
      const tokens = [...args];
      // Global options first (with their values), then the subcommand and its flags.
      while (tokens[0]?.startsWith("-")) {
        const flag = tokens.shift()!;
        expect(globalFlags, `global flag ${flag}`).toContain(flag);
        if (flag === "-C" || flag === "--lock-timeout") tokens.shift();
      }
      const name = tokens.shift()!;
      names.push(name);
      const command = program.commands.find((c) => c.name() === name);
      expect(command, `coho ${name}`).toBeDefined();
      for (const flag of tokens.filter((t) => t.startsWith("-"))) expect(flagsOf(command!), `coho ${name} ${flag}`).toContain(flag);
    }
    expect(names.sort()).toEqual(["apply", "plan", "validate"]);
  });
});
