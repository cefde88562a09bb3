import type { Project } from "../model/project.js";
import type { ClientOptions, DestinationClient } from "./destination.js";
import { openClient } from "./roads.js";
import type { DestinationEvent } from "./shared/events.js";
import { assertReachable } from "./shared/reachable.js";

/** One client per destination, shared by its cohorts so they share its rate limit. */
export class DestinationClients {
  readonly #project: Project;
  readonly #clients = new Map<string, DestinationClient>();
  readonly #onEvent: ((destination: string, event: DestinationEvent) => void) | undefined;
  readonly #tuning: Omit<ClientOptions, "onEvent">;

  constructor(project: Project, options: Omit<ClientOptions, "onEvent"> & { onEvent?: (destination: string, event: DestinationEvent) => void } = {}) {
    this.#project = project;
    const { onEvent, ...tuning } = options;
    this.#onEvent = onEvent;
    this.#tuning = tuning;
  }

  get(destination: string): DestinationClient {
    let client = this.#clients.get(destination);
    if (client) return client;
    const config = this.#project.destinations.get(destination);
    if (!config) throw new Error(`destination ${destination} is not configured`);
    client = openClient(config, { ...this.#tuning, onEvent: (event) => this.#onEvent?.(destination, event) });
    this.#clients.set(destination, client);
    return client;
  }

  /** Fails fast, before anything is journaled, when one of `destinations` cannot be reached at all. */
  async assertReachable(destinations: Iterable<string>): Promise<void> {
    for (const destination of new Set(destinations)) {
      const config = this.#project.destinations.get(destination);
      if (config) await assertReachable(destination, config.restEndpoint);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}
