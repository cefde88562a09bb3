import type { Command, Option } from "commander";

/**
 * Shell completion. The scripts are thin: each asks `coho __complete -- WORDS…`
 * (the words after `coho`, the last one being completed) for candidates, so
 * commands, flags and the project's cohort addresses come from one place.
 */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

export function completionScript(shell: CompletionShell): string {
  switch (shell) {
    case "bash":
      return `# coho completion for bash: source it, or save it in /etc/bash_completion.d/coho
_coho_complete() {
  local IFS=$'\\n'
  COMPREPLY=( $(coho __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
}
complete -o default -F _coho_complete coho
`;
    case "zsh":
      return `#compdef coho
# coho completion for zsh: save it as _coho in a folder on $fpath
_coho() {
  local -a candidates
  candidates=("\${(@f)$(coho __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
if [ "$funcstack[1]" = "_coho" ]; then _coho "$@"; else compdef _coho coho; fi
`;
    case "fish":
      return `# coho completion for fish: save it as ~/.config/fish/completions/coho.fish
function __coho_complete
  set -l tokens (commandline -opc) (commandline -ct)
  coho __complete -- $tokens[2..-1] 2>/dev/null
end
complete -c coho -f -a '(__coho_complete)'
`;
  }
}

export interface CompletionInput {
  readonly program: Command;
  /** Words after `coho`; the last is the (possibly empty) word being completed. */
  readonly words: readonly string[];
  /** Cohort addresses of the project named by -C (or the current folder), for --target and state ADDR. */
  readonly addresses: (dir: string) => readonly string[];
}

/** Candidates for the last word, filtered by what is typed so far. */
export function completeWords(input: CompletionInput): string[] {
  const words = input.words.length === 0 ? [""] : input.words;
  const current = words[words.length - 1]!;
  let command = input.program;
  let dir = ".";
  let expectsValueOf: Option | undefined;
  for (const word of words.slice(0, -1)) {
    if (expectsValueOf) {
      if (expectsValueOf.long === "--dir") dir = word;
      expectsValueOf = undefined;
      continue;
    }
    if (word.startsWith("-")) {
      const option = findOption(command, word);
      if (option && (option.required || option.optional) && !word.includes("=")) expectsValueOf = option;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) command = sub;
  }
  const candidates = expectsValueOf ? valuesFor(expectsValueOf, input, dir) : current.startsWith("-") ? optionNames(command) : [...subcommandNames(command), ...positionalValues(command, input, dir)];
  return candidates.filter((c) => c.startsWith(current)).sort();
}

function valuesFor(option: Option, input: CompletionInput, dir: string): string[] {
  if (option.long === "--target") return [...input.addresses(dir)];
  return option.argChoices ? [...option.argChoices] : [];
}

/** `state show|rm ADDR` take an address too. */
function positionalValues(command: Command, input: CompletionInput, dir: string): string[] {
  const wantsAddress = command.registeredArguments.some((a) => a.name() === "address");
  return wantsAddress ? [...input.addresses(dir)] : [];
}

function subcommandNames(command: Command): string[] {
  return command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => c.name());
}

function optionNames(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) {
    for (const option of c.options) if (!option.hidden && option.long) names.push(option.long);
  }
  return [...new Set([...names, "--help"])];
}

function findOption(command: Command, word: string): Option | undefined {
  const flag = word.split("=")[0];
  for (let c: Command | null = command; c; c = c.parent) {
    const found = c.options.find((o) => o.long === flag || o.short === flag);
    if (found) return found;
  }
  return undefined;
}
