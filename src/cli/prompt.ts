import type { CliIo } from "./io.js";

/**
 * Asks on the terminal; resolves to the trimmed answer, or "" when the input
 * ends (Ctrl-D), which every caller reads as "no" or "the default". Only called
 * when stdin is a TTY.
 */
export async function ask(io: CliIo, question: string): Promise<string> {
  const prompter = await openPrompter(io);
  try {
    return await prompter.ask(question);
  } finally {
    prompter.close();
  }
}

export interface Prompter {
  ask(question: string): Promise<string>;
  close(): void;
}

/**
 * Several questions on one terminal. One reader serves them all, so answers
 * typed (or pasted) ahead of their question wait for it instead of being lost
 * with a reader that closed.
 */
export async function openPrompter(io: CliIo): Promise<Prompter> {
  // Loaded here, not at start-up: only interactive commands ask.
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async ask(question: string): Promise<string> {
      io.stderr.write(question);
      const next = await lines.next();
      return next.done === true ? "" : String(next.value).trim();
    },
    close: () => rl.close(),
  };
}
