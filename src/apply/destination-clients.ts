import { BrazeClient } from "../braze/braze-client.js";
import type { BrazeEvent } from "../braze/events.js";
import type { RetryPolicy } from "../braze/retry-policy.js";
import type { Project } from "../model/project.js";

/** One client per destination, shared by its cohorts so they share its rate limit. */
export class DestinationClients {
  readonly #project: Project;
  readonly #clients = new Map<string, BrazeClient>();
  readonly #onEvent: ((destination: string, event: BrazeEvent) => void) | undefined;
  readonly #concurrency: number | undefined;
  readonly #retry: Partial<RetryPolicy> | undefined;

  constructor(project: Project, options: { onEvent?: (destination: string, event: BrazeEvent) => void; concurrency?: number; retry?: Partial<RetryPolicy> } = {}) {
    this.#project = project;
    this.#onEvent = options.onEvent;
    this.#concurrency = options.concurrency;
    this.#retry = options.retry;
  }

  get(destination: string): BrazeClient {
    let client = this.#clients.get(destination);
    if (client) return client;
    const config = this.#project.destinations.get(destination);
    if (!config) throw new Error(`destination ${destination} is not configured`);
    client = new BrazeClient({
      endpoint: config.restEndpoint,
      partner: config.partner,
      partnerApiKey: config.partnerApiKey,
      dataImportKey: config.dataImportKey,
      destination,
      ...(this.#concurrency ? { concurrency: this.#concurrency } : {}),
      ...(this.#retry ? { retry: this.#retry } : {}),
      onEvent: (event) => this.#onEvent?.(destination, event),
    });
    this.#clients.set(destination, client);
    return client;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}
