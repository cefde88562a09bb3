/**
 * A value that must never be printed. It came from the environment; it prints
 * as `***` through toString, JSON.stringify and util.inspect, so an accidental
 * interpolation cannot leak it. Only the code that sends it (the Braze client,
 * the database driver) calls reveal().
 */
export class Secret {
  readonly #value: string;
  /** The environment variable it came from, safe to name in messages. */
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "***";
  }

  toJSON(): string {
    return "***";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Secret(${this.source})`;
  }
}
