import kleur from "kleur";
import { redactForms, rememberSecret, secretForms } from "../model/redaction.js";
import { spelledByCoho } from "./authored-text.js";

/**
 * Everything a command may touch of the outside world, passed in so tests can run
 * the CLI in-process and so output goes through one redaction point.
 */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: process.stdin builds a stream (and loads Node's stream, net or tty
    // modules) on first access, which only apply's and state's prompts need.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

/** SGR colour sequences as kleur writes them; user text never holds a raw ESC (renderers escape it). */
const SGR = /\u001b\[[0-9;]*m/g;

/**
 * Output with a last line of defence: every form of a secret registered here
 * (secretForms: as is, lower- and upper-cased, escaped, quoted, a URL's password)
 * is replaced by `***` before it reaches a stream, whatever code produced the
 * text. A form that coho's own code spells out (an ordinary word such as `check`
 * or `plan`) is left to the places where values enter messages (redactKnown:
 * driver and server messages, addresses), which replace it there: here it cannot
 * be told apart from coho's own hints, headings and flag names, and replacing it
 * would turn "run `coho check`" into "run `coho ***`". Colour is decided per
 * stream: renderers style with kleur, and a stream that must stay plain (a pipe,
 * a file, TERM=dumb) gets the text with its colour stripped.
 */
export class Output {
  readonly #io: CliIo;
  readonly #secrets = new Set<string>();
  /** Forms found in output so far that coho's own text does not spell: replaced wherever they appear. */
  readonly #distinct = new Map<string, boolean>();
  #color: StreamColors = { stdout: false, stderr: false };

  constructor(io: CliIo) {
    this.#io = io;
  }

  registerSecret(value: string): void {
    rememberSecret(value);
    // Shorter forms are replaced only where values enter messages (as whole words).
    for (const form of secretForms(value)) if (form.length >= 4) this.#secrets.add(form);
  }

  setColors(colors: StreamColors): void {
    this.#color = colors;
  }

  /** Whether stderr is a terminal that can redraw a line in place. */
  get stderrIsInteractive(): boolean {
    return this.#io.stderr.isTTY === true && this.#io.env.TERM !== "dumb";
  }

  /** Columns of the terminal on stderr, for lines that must not wrap. */
  get stderrColumns(): number {
    const columns = (this.#io.stderr as { columns?: number }).columns;
    return typeof columns === "number" && columns > 0 ? columns : 80;
  }

  out(text: string): void {
    this.#io.stdout.write(this.#prepare(text.endsWith("\n") ? text : `${text}\n`, this.#color.stdout));
  }

  /** Writes to stderr as is (no newline added), for progress redrawn in place. */
  errRaw(text: string): void {
    this.#io.stderr.write(this.#prepare(text, this.#color.stderr));
  }

  err(text: string): void {
    this.#io.stderr.write(this.#prepare(text.endsWith("\n") ? text : `${text}\n`, this.#color.stderr));
  }

  /** `text` with every registered secret replaced by `***`, for text that goes to a file instead of a stream. */
  redact(text: string): string {
    const present = [...this.#secrets].filter((form) => text.includes(form) && this.#isDistinct(form));
    return present.length === 0 ? text : redactForms(text, present);
  }

  /** Whether a form is not one of coho's own words (decided once per form, when it first shows up). */
  #isDistinct(form: string): boolean {
    let distinct = this.#distinct.get(form);
    if (distinct === undefined) {
      distinct = !spelledByCoho(form);
      this.#distinct.set(form, distinct);
    }
    return distinct;
  }

  #prepare(text: string, color: boolean): string {
    return this.redact(color ? text : text.replace(SGR, ""));
  }
}

export interface StreamColors {
  readonly stdout: boolean;
  readonly stderr: boolean;
}

/**
 * Colour per stream: on a TTY unless --no-color, NO_COLOR or TERM=dumb;
 * FORCE_COLOR (not "0") forces it on both. kleur is the only styling library and
 * stays on when either stream wants colour; Output strips it from the other.
 */
export function decideColors(io: CliIo, noColorFlag: boolean): StreamColors {
  const force = io.env.FORCE_COLOR;
  const forced = force !== undefined && force !== "" && force !== "0";
  const off = noColorFlag || force === "0" || (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "");
  const decide = (stream: { isTTY?: boolean }): boolean => !off && (forced || (stream.isTTY === true && io.env.TERM !== "dumb"));
  return { stdout: decide(io.stdout), stderr: decide(io.stderr) };
}

export function configureColor(io: CliIo, output: Output, noColorFlag: boolean): void {
  const colors = decideColors(io, noColorFlag);
  output.setColors(colors);
  kleur.enabled = colors.stdout || colors.stderr;
}

/**
 * A reader that closed the pipe (`coho --help | head -1`) is not an error: stop
 * quietly, as Unix tools do, instead of dying on EPIPE with a stack trace.
 */
export function exitQuietlyOnBrokenPipe(stream: NodeJS.WritableStream): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}
