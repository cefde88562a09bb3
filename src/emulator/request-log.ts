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

/** Bounded in memory: the newest `capacity` requests; `total` counts all of them. */
export class RequestLog {
  readonly #entries: LoggedRequest[] = [];
  readonly #capacity: number;
  total = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  add(entry: Omit<LoggedRequest, "seq">): LoggedRequest {
    const logged = { ...entry, seq: ++this.total };
    this.#entries.push(logged);
    if (this.#entries.length > this.#capacity) this.#entries.splice(0, this.#entries.length - this.#capacity);
    return logged;
  }

  since(seq: number): LoggedRequest[] {
    return this.#entries.filter((e) => e.seq > seq);
  }

  clear(): void {
    this.#entries.length = 0;
    this.total = 0;
  }
}
