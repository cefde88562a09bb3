import type { OperationEvent } from "../operations/events.js";
import { progressLine } from "../render/apply-progress.js";

/** Width of a progress line written to a log rather than a terminal (thousands of cohorts in flight must not make it kilobytes long). */
export const LOG_LINE_COLUMNS = 160;
import type { Output } from "./io.js";

/**
 * Progress on stderr: on a TTY one line redrawn in place; otherwise (CI) a line at
 * most every 5 seconds. Silent with --json.
 */
export class ApplyProgress {
  readonly #output: Output;
  readonly #tty: boolean;
  readonly #started = Date.now();
  readonly #active = new Set<string>();
  #sent = 0;
  #total = 0;
  #requests = 0;
  #retries = 0;
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;

  constructor(output: Output, tty: boolean, enabled: boolean) {
    this.#output = output;
    // TERM=dumb cannot redraw a line in place: print lines as in CI instead.
    this.#tty = tty && output.stderrIsInteractive;
    if (enabled) this.#timer = setInterval(() => this.#draw(), tty ? 200 : 5000);
  }

  onEvent = (event: OperationEvent): void => {
    switch (event.type) {
      case "cohort_start":
        this.#active.add(event.address);
        this.#total += event.total;
        break;
      case "batch_acked":
        this.#sent += event.identifiers;
        this.#requests++;
        break;
      case "retry":
        this.#retries++;
        break;
      case "cohort_done":
        this.#active.delete(event.address);
        break;
      default:
        break;
    }
  };

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#tty && this.#drawn) this.#output.errRaw("\r\u001b[2K");
  }

  /** A log line (CI, a file) has no terminal width: keep it one readable line, whatever runs at once. */
  #draw(): void {
    if (this.#total === 0) return;
    const line = progressLine({ sent: this.#sent, total: this.#total, requests: this.#requests, retries: this.#retries, elapsedMs: Date.now() - this.#started, active: [...this.#active] }, this.#tty ? this.#output.stderrColumns : LOG_LINE_COLUMNS);
    if (this.#tty) this.#output.errRaw(`\r\u001b[2K${line}`);
    else this.#output.err(line);
    this.#drawn = true;
  }
}
