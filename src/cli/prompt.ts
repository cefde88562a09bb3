import type { CliIo } from "./io.js";

/** Asks on the terminal; resolves to the trimmed answer. Only called when stdin is a TTY. */
export async function ask(io: CliIo, question: string): Promise<string> {
  // Loaded here, not at start-up: only an interactive apply or `state rm` asks.
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}
