import kleur from "kleur";

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
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/**
 * Output with a last line of defence: any secret value registered here is replaced
 * by `***` before it reaches a stream, whatever code produced the text.
 */
export class Output {
  readonly #io: CliIo;
  readonly #secrets = new Set<string>();

  constructor(io: CliIo) {
    this.#io = io;
  }

  registerSecret(value: string): void {
    // Very short values would redact ordinary words; secrets are long in practice.
    if (value.length >= 4) this.#secrets.add(value);
  }

  out(text: string): void {
    this.#io.stdout.write(this.#redact(text.endsWith("\n") ? text : `${text}\n`));
  }

  /** Writes to stderr as is (no newline added), for progress redrawn in place. */
  errRaw(text: string): void {
    this.#io.stderr.write(this.#redact(text));
  }

  err(text: string): void {
    this.#io.stderr.write(this.#redact(text.endsWith("\n") ? text : `${text}\n`));
  }

  #redact(text: string): string {
    let result = text;
    for (const secret of this.#secrets) result = result.split(secret).join("***");
    return result;
  }
}

/**
 * Colour on a TTY unless --no-color or NO_COLOR; FORCE_COLOR (not "0") forces it.
 * kleur is the only styling library; setting it here styles every renderer.
 */
export function configureColor(io: CliIo, noColorFlag: boolean): void {
  const force = io.env.FORCE_COLOR;
  let enabled = io.stdout.isTTY === true;
  if (force !== undefined && force !== "" && force !== "0") enabled = true;
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== "") enabled = false;
  if (noColorFlag || force === "0") enabled = false;
  kleur.enabled = enabled;
}
