import type { Command } from "commander";

/**
 * Examples and the docs page for every command's --help, in one place so
 * that a command added anywhere is caught by the test that asks every command's
 * help for "Examples:". Keyed by the command path as typed ("state rm").
 */
interface HelpEntry {
  readonly examples: readonly string[];
  /** The page under docs/ (with an optional #anchor) that documents the command. */
  readonly docs: string;
}

export const HELP: Readonly<Record<string, HelpEntry>> = {
  init: { examples: ["coho init my-cohorts               a project that validates at once", "coho -C my-cohorts validate"], docs: "getting-started.md" },
  validate: { examples: ["coho validate", "coho validate --json | jq '.diagnostics[].message'", "coho -C examples/quickstart validate"], docs: "configuration.md" },
  plan: { examples: ["coho plan", "coho plan --markdown --detailed-exitcode > plan.md", "coho plan --out plan.coho && coho apply plan.coho", "coho plan --target cohorts.recent_buyers", "coho plan --output ndjson             events for an orchestrator, the plan last"], docs: "plans.md" },
  apply: { examples: ["coho apply                          plan, show, ask for 'yes', apply", "coho apply --auto-approve           in a pipeline", "coho apply plan.coho                exactly the reviewed plan", "coho apply --auto-approve --output ndjson   events for an orchestrator"], docs: "plans.md#saved-plans" },
  show: { examples: ["coho show                           the recorded state", "coho show plan.coho --markdown       a saved plan as a PR comment"], docs: "plans.md#saved-plans" },
  state: { examples: ["coho state list", "coho state show cohorts.recent_buyers", "coho state rm cohorts.old_list"], docs: "state.md" },
  "state list": { examples: ["coho state list"], docs: "state.md" },
  "state show": { examples: ["coho state show cohorts.recent_buyers"], docs: "state.md" },
  "state rm": { examples: ["coho state rm cohorts.old_list       forget it; its Braze members stay"], docs: "state.md" },
  "state journal": { examples: ["coho state journal                  pending requests of an interrupted apply, with entry ids"], docs: "state.md#a-journal-entry-that-can-never-be-sent" },
  "state journal discard": {
    examples: ["coho state journal discard --entry cohorts.a#3            drop a request that can never be sent", "coho state journal discard --entry cohorts.a#4 --force    also one of unknown fate"],
    docs: "state.md#a-journal-entry-that-can-never-be-sent",
  },
  "force-unlock": { examples: ["coho force-unlock 5f1c…              the id the blocked command printed", "coho force-unlock --force 5f1c…      also from a coho still running on this host"], docs: "state.md" },
  check: { examples: ["coho check                          prove keys, sources and state; nothing changes in Braze", "coho check --json", "coho check --timeout 5s"], docs: "getting-started.md#check-credentials-coho-check" },
  history: { examples: ["coho history                        past applies, newest first", "coho history cohorts.recent_buyers --last 5", "coho history --last 1 --markdown    the latest apply as a PR comment", "coho history --json"], docs: "history.md" },
  emulator: { examples: ["coho emulator --port 4010", "coho emulator --rate-limit 50 --fault-rate 0.3 --seed 7", "coho emulator --state braze.json --users users.json"], docs: "emulator.md" },
  dbt: { examples: ["coho dbt exposures --out ../analytics/models/coho_exposures.yml"], docs: "dbt.md" },
  "dbt exposures": { examples: ["coho dbt exposures                  print the exposures YAML", "coho dbt exposures --out models/coho_exposures.yml", "coho dbt exposures --out models/exposures.yml --force   replace a hand-written file"], docs: "dbt.md" },
  verify: { examples: ["coho verify                         a sample of 200 members per cohort", "coho verify cohorts.vip --sample 1000 --json", "coho verify --show-members 10       name drifted members (PII)"], docs: "braze-roads.md#drift-coho-verify" },
  version: { examples: ["coho version", "coho version --json"], docs: "getting-started.md#commands" },
  completion: { examples: ["coho completion bash > /etc/bash_completion.d/coho", "coho completion zsh > \"${fpath[1]}/_coho\"", "coho completion fish > ~/.config/fish/completions/coho.fish"], docs: "getting-started.md#shell-completion" },
};

/** The full command path of a commander command, without the program name. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Adds each known command's examples and docs pointer to its --help. */
export function attachHelp(program: Command): void {
  const visit = (command: Command): void => {
    for (const sub of command.commands) {
      const entry = HELP[commandPath(sub)];
      if (entry) sub.addHelpText("after", helpFooter(entry));
      visit(sub);
    }
  };
  visit(program);
}

function helpFooter(entry: HelpEntry): string {
  const examples = entry.examples.map((e) => `  $ ${e}`).join("\n");
  return `\nExamples:\n${examples}\n\nDocs: docs/${entry.docs}`;
}
