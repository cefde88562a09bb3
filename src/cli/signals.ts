import { EXIT_SIGINT, EXIT_SIGTERM } from "./exit-codes.js";

/**
 * SIGINT/SIGTERM during a long command: the first asks the work to stop starting
 * new requests (in-flight ones finish and state is saved); the exit code then
 * says which signal it was.
 */
export class StopSignal {
  #signal: NodeJS.Signals | undefined;
  readonly #handlers: [NodeJS.Signals, () => void][] = [];
  readonly #controller = new AbortController();
  onStop: ((signal: NodeJS.Signals) => void) | undefined;

  constructor() {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const handler = () => {
        if (this.#signal) return;
        this.#signal = signal;
        this.onStop?.(signal);
        this.#controller.abort(signal);
      };
      process.on(signal, handler);
      this.#handlers.push([signal, handler]);
    }
  }

  /** Aborted (reason: the signal's name) on the first SIGINT/SIGTERM; what operations watch. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get stopped(): boolean {
    return this.#signal !== undefined;
  }

  get exitCode(): number | undefined {
    if (!this.#signal) return undefined;
    return this.#signal === "SIGINT" ? EXIT_SIGINT : EXIT_SIGTERM;
  }

  dispose(): void {
    for (const [signal, handler] of this.#handlers) process.off(signal, handler);
  }
}
