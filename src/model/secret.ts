import { CohoError } from "./errors.js";

/**
 * A value that must never be printed. It came from the environment; it prints
 * as `***` through toString, JSON.stringify and util.inspect, so an accidental
 * interpolation cannot leak it. Only the code that sends it (the Braze client,
 * the database driver) calls reveal().
 */
export class Secret {
  readonly #value: string | undefined;
  /** The environment variable it came from, safe to name in messages. */
  readonly source: string;
  /** The config key it belongs to, e.g. `destinations.braze.partner_api_key`. */
  readonly configKey: string | undefined;

  /** `value` undefined: the variable is not set (see unresolved()). */
  constructor(value: string | undefined, source: string, configKey?: string) {
    this.#value = value;
    this.source = source;
    this.configKey = configKey;
  }

  /**
   * A destination secret whose variable is not set. Offline commands (validate,
   * plan) go on without it; anything that tries to send it fails here, naming
   * the config key and the variable, before a byte leaves.
   */
  static unresolved(source: string, configKey: string): Secret {
    return new Secret(undefined, source, configKey);
  }

  get resolved(): boolean {
    return this.#value !== undefined;
  }

  /**
   * Whether two secrets hold one key, without revealing either: equal values when
   * both are set, else the same environment variable (one variable is one value).
   */
  sameKeyAs(other: Secret): boolean {
    if (this.#value !== undefined && other.#value !== undefined) return this.#value === other.#value;
    return this.source === other.source;
  }

  reveal(): string {
    if (this.#value === undefined) {
      throw new CohoError("config.secret_unset", `${this.configKey ?? "a secret"} is not available: environment variable ${this.source} is not set`, {
        hint: `set ${this.source} (a repository secret in CI), or add it to .env beside coho.yaml`,
      });
    }
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
