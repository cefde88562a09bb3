import type { Command } from "commander";

/**
 * Examples and the README section for every command's --help, in one place so
 * that a command added anywhere is caught by the test that asks every command's
 * help for "Examples:". Keyed by the command path as typed ("state rm").
 */
interface HelpEntry {
  readonly examples: readonly string[];
  /** Anchor of the README section that documents the command. */
  readonly docs: string;
}

const README = "README.md";

export const HELP: Readonly<Record<string, HelpEntry>> = {
  init: { examples: ["coho init my-cohorts               a project that validates at once", "coho -C my-cohorts validate"], docs: "first-commands" },
  validate: { examples: ["coho validate", "coho validate --json | jq '.diagnostics[].message'", "coho -C examples/quickstart validate"], docs: "configuration" },
  plan: { examples: ["coho plan", "coho plan --markdown --detailed-exitcode > plan.md", "coho plan --out plan.coho && coho apply plan.coho", "coho plan --target cohorts.recent_buyers", "coho plan --output ndjson             events for an orchestrator, the plan last"], docs: "commands" },
  apply: { examples: ["coho apply                          plan, show, ask for 'yes', apply", "coho apply --auto-approve           in a pipeline", "coho apply plan.coho                exactly the reviewed plan", "coho apply --auto-approve --output ndjson   events for an orchestrator"], docs: "commands" },
  show: { examples: ["coho show                           the recorded state", "coho show plan.coho --markdown       a saved plan as a PR comment"], docs: "commands" },
  state: { examples: ["coho state list", "coho state show cohorts.recent_buyers", "coho state rm cohorts.old_list"], docs: "state" },
  "state list": { examples: ["coho state list"], docs: "state" },
  "state show": { examples: ["coho state show cohorts.recent_buyers"], docs: "state" },
  "state rm": { examples: ["coho state rm cohorts.old_list       forget it; its Braze members stay"], docs: "state" },
  "state journal": { examples: ["coho state journal                  pending requests of an interrupted apply, with entry ids"], docs: "a-journal-entry-that-can-never-be-sent" },
  "state journal discard": {
    examples: ["coho state journal discard --entry cohorts.a#3            drop a request that can never be sent", "coho state journal discard --entry cohorts.a#4 --force    also one of unknown fate"],
    docs: "a-journal-entry-that-can-never-be-sent",
  },
  "force-unlock": { examples: ["coho force-unlock 5f1c…              the id the blocked command printed", "coho force-unlock --force 5f1c…      also from a coho still running on this host"], docs: "state" },
  check: { examples: ["coho check                          prove keys, sources and state; nothing changes in Braze", "coho check --json", "coho check --timeout 5s"], docs: "check-credentials-coho-check" },
  history: { examples: ["coho history                        past applies, newest first", "coho history cohorts.recent_buyers --last 5", "coho history --last 1 --markdown    the latest apply as a PR comment", "coho history --json"], docs: "state" },
  emulator: { examples: ["coho emulator --port 4010", "coho emulator --rate-limit 50 --fault-rate 0.3 --seed 7", "coho emulator --state braze.json --users users.json"], docs: "the-braze-emulator" },
  dbt: { examples: ["coho dbt exposures --out ../analytics/models/coho_exposures.yml"], docs: "cohorts-on-dbt-models" },
  "dbt exposures": { examples: ["coho dbt exposures                  print the exposures YAML", "coho dbt exposures --out models/coho_exposures.yml", "coho dbt exposures --out models/exposures.yml --force   replace a hand-written file"], docs: "cohorts-on-dbt-models" },
  verify: { examples: ["coho verify                         a sample of 200 members per cohort", "coho verify cohorts.vip --sample 1000 --json", "coho verify --show-members 10       name drifted members (PII)"], docs: "which-braze-road" },
  version: { examples: ["coho version", "coho version --json"], docs: "commands" },
  completion: { examples: ["coho completion bash > /etc/bash_completion.d/coho", "coho completion zsh > \"${fpath[1]}/_coho\"", "coho completion fish > ~/.config/fish/completions/coho.fish"], docs: "shell-completion" },
};

/** The full command path of a commander command, without the program name. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Adds each known command's examples and README pointer to its --help. */
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
  return `\nExamples:\n${examples}\n\nDocs: ${README}#${entry.docs}`;
}
