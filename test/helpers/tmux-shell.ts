import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A real interactive shell in a detached tmux session on a socket of its own
 * (never the user's tmux server): keys go in with send-keys, the screen comes
 * back with capture-pane.
 */
export class TmuxShell {
  readonly #socket: string;
  readonly #session = "shell";

  private constructor(socket: string) {
    this.#socket = socket;
  }

  /** Starts `command` (argv) in a 200×50 pane with `env`; resolves once the prompt `$ ` shows. */
  static async start(socket: string, command: readonly string[], env: Record<string, string>): Promise<TmuxShell> {
    const shell = new TmuxShell(socket);
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    shell.#tmux("new-session", "-d", "-s", shell.#session, "-x", "200", "-y", "50", "env", "-i", ...assignments, ...command);
    await shell.#until(() => shell.promptLine() !== undefined, "the prompt");
    return shell;
  }

  /** Types `text` literally (no key names). */
  type(text: string): void {
    this.#tmux("send-keys", "-t", this.#session, "-l", text);
  }

  /** Presses Tab and waits until the line under the prompt changes (completion is a child process, slow on a busy host). */
  async tab(): Promise<string> {
    const before = this.promptLine();
    this.#tmux("send-keys", "-t", this.#session, "Tab");
    await this.#until(() => this.promptLine() !== before, `a completion after ${JSON.stringify(before)}`);
    await sleep(300);
    return this.promptLine()!;
  }

  /** Presses Enter and waits until `done` holds for the screen. */
  async enter(done: (screen: string) => boolean): Promise<string> {
    this.#tmux("send-keys", "-t", this.#session, "Enter");
    await this.#until(() => done(this.screen()), "the command's output");
    return this.screen();
  }

  screen(): string {
    return this.#tmux("capture-pane", "-p", "-J", "-t", this.#session);
  }

  /** The last line that starts with the prompt `$ `, without the prompt and trailing blanks. */
  promptLine(): string | undefined {
    const lines = this.screen().split("\n").filter((l) => l.startsWith("$ "));
    return lines.length === 0 ? undefined : lines[lines.length - 1]!.slice(2).trimEnd();
  }

  close(): void {
    try {
      this.#tmux("kill-server");
    } catch {
      // already gone
    }
  }

  async #until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${this.screen()}`);
      await sleep(100);
    }
  }

  #tmux(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.#socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
  }
}
