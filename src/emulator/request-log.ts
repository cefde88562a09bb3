import type { FaultKind } from "./faults.js";

/** One request as the emulator saw it. Credentials are never recorded. */
export interface LoggedRequest {
  readonly seq: number;
  readonly at: string;
  readonly method: string;
  readonly path: string;
  /** HTTP status answered, or "dropped" when the connection was cut. */
  status: number | "dropped";
  fault?: FaultKind;
  /** True when the request changed (or could have changed) the workspace. */
  processed: boolean;
  cohort_id?: string;
  name?: string;
  /** Identifiers across all cohort_changes entries. */
  identifiers?: number;
  cohort_changes?: unknown[];
  /** /users/track: the attributes objects as sent. */
  attributes?: unknown[];
  message?: string;
}

/**
 * Bounded in memory: the newest `capacity` requests, of which the newest
 * `bodyCapacity` keep their bodies; `total` counts all of them.
 */
export class RequestLog {
  readonly #entries: LoggedRequest[] = [];
  readonly #capacity: number;
  readonly #bodyCapacity: number;
  total = 0;
  /** Braze requests being answered right now, and the most there ever were at once (tests prove concurrency with it). */
  inFlight = 0;
  maxInFlight = 0;

  constructor(capacity: number, bodyCapacity: number = capacity) {
    this.#capacity = capacity;
    // At least the newest: its body is attached once it is answered, after add().
    this.#bodyCapacity = Math.max(1, Math.min(capacity, bodyCapacity));
  }

  add(entry: Omit<LoggedRequest, "seq">): LoggedRequest {
    const logged = { ...entry, seq: ++this.total };
    this.#entries.push(logged);
    if (this.#entries.length > this.#capacity) this.#entries.splice(0, this.#entries.length - this.#capacity);
    // The entry that just fell out of the body window: its details (set once answered) stay, its body goes.
    const aged = this.#entries[this.#entries.length - 1 - this.#bodyCapacity];
    if (aged !== undefined) {
      delete aged.cohort_changes;
      delete aged.attributes;
    }
    return logged;
  }

  /** A Braze request arrived; call the returned function once it is answered or dropped. */
  enter(): () => void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let left = false;
    return () => {
      if (!left) this.inFlight--;
      left = true;
    };
  }

  since(seq: number): LoggedRequest[] {
    return this.#entries.filter((e) => e.seq > seq);
  }

  clear(): void {
    this.#entries.length = 0;
    this.total = 0;
    this.maxInFlight = this.inFlight;
  }
}
