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
      // bash splits COMP_WORDS at quotes and brackets (COMP_WORDBREAKS), so coho
      // reads the typed line itself and answers with what replaces readline's
      // word ($2), quoted; no answer means "complete file names" (-o default).
      return `# coho completion for bash: source it, or save it in /etc/bash_completion.d/coho
_coho_complete() {
  local IFS=$'\n'
  COMPREPLY=( $(coho __complete --shell bash --word "$2" --line "\${COMP_LINE:0:COMP_POINT}" 2>/dev/null) )
}
complete -o default -F _coho_complete coho
`;
    case "zsh":
      // Words reach coho unquoted ((Q)); compadd quotes what it inserts. The first
      // line of the answer says what to complete: words, files or folders.
      return `#compdef coho
# coho completion for zsh: save it as _coho in a folder on $fpath
_coho() {
  local -a reply
  reply=("\${(@f)$(coho __complete --shell zsh -- "\${(@Q)words[2,CURRENT-1]}" "\${(Q)PREFIX}" 2>/dev/null)}")
  case "$reply[1]" in
    files) _files ;;
    dirs) _files -/ ;;
    *) compadd -- "\${(@)reply[2,-1]}" ;;
  esac
}
if [ "$funcstack[1]" = "_coho" ]; then _coho "$@"; else compdef _coho coho; fi
`;
    case "fish":
      // fish escapes what it inserts; coho gets the tokens unescaped.
      return `# coho completion for fish: save it as ~/.config/fish/completions/coho.fish
function __coho_complete
  set -l tokens (commandline -opc)
  set -l current (commandline -ct | string unescape 2>/dev/null; or commandline -ct)
  set -l reply (coho __complete --shell fish -- $tokens[2..-1] "$current" 2>/dev/null)
  switch "$reply[1]"
    case files
      __fish_complete_path "$current"
    case dirs
      __fish_complete_directories "$current"
    case '*'
      printf '%s\n' $reply[2..-1]
  end
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

/** What the shell should complete: these words, or file or folder names (the shell knows those best). */
export interface Completion {
  readonly kind: "words" | "files" | "dirs";
  readonly words: string[];
}

/** Candidates for the last word, filtered by what is typed so far. */
export function completeWords(input: CompletionInput): string[] {
  return complete(input).words;
}

export function complete(input: CompletionInput): Completion {
  const words = input.words.length === 0 ? [""] : input.words;
  const current = words[words.length - 1]!;
  let command = input.program;
  let dir = ".";
  let expectsValueOf: Option | undefined;
  let positionals = 0;
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
    if (sub) {
      command = sub;
      positionals = 0;
    } else positionals++;
  }
  const matching = (candidates: readonly string[]) => candidates.filter((c) => c.startsWith(current)).sort();
  if (expectsValueOf) {
    const kind = pathKind(/<([^>]+)>/.exec(expectsValueOf.flags)?.[1]);
    return kind ? { kind, words: [] } : { kind: "words", words: matching(valuesFor(expectsValueOf, input, dir)) };
  }
  if (current.startsWith("-")) return { kind: "words", words: matching(optionNames(command)) };
  const argument = command.registeredArguments[Math.min(positionals, command.registeredArguments.length - 1)];
  const argumentKind = argument && subcommandNames(command).length === 0 ? pathKind(argument.name()) : undefined;
  if (argumentKind) return { kind: argumentKind, words: [] };
  const choices = argument?.argChoices ?? [];
  return { kind: "words", words: matching([...subcommandNames(command), ...choices, ...positionalValues(command, input, dir)]) };
}

/** Options and arguments named for a path (`<file>`, `<dir>`, `[plan-file]`) complete file or folder names. */
function pathKind(name: string | undefined): "files" | "dirs" | undefined {
  if (name === "dir") return "dirs";
  if (name === "file" || name === "path" || name === "plan-file") return "files";
  return undefined;
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
