import type { HistoryOutcome } from "../model/history.js";
import type { Plan } from "../model/plan.js";
import type { StateBackend } from "../state/backend.js";
import { buildHistoryRecord } from "./history-record.js";
import type { ApplyReport } from "./report.js";

/**
 * Records one apply in the state's history, once. Created when the apply holds
 * the state lock, so records are appended in the order applies ran.
 */
export class ApplyHistory {
  /** The plan being carried out, once known. */
  plan: Plan | null = null;
  #recorded = false;

  constructor(
    private readonly backend: StateBackend,
    private readonly started: Date,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly before: { readonly lineage: string | null; readonly serial: number },
    private readonly environment?: string,
  ) {}

  async record(outcome: HistoryOutcome, report: ApplyReport | null, error?: string): Promise<void> {
    if (this.#recorded) return;
    this.#recorded = true;
    const sizes = await this.#sizesInState();
    const record = buildHistoryRecord({ ...(this.environment === undefined ? {} : { environment: this.environment }), started: this.started, finished: new Date(), env: this.env, outcome, before: this.before, plan: this.plan, report, ...(error ? { error } : {}), ...(sizes ? { sizes } : {}) });
    await this.backend.history().append(record);
  }

  /**
   * Every cohort's member count as state holds it now (after the fold): the
   * sizes the history charts draw. Unreadable state leaves them unrecorded
   * rather than failing the record.
   */
  async #sizesInState(): Promise<ReadonlyMap<string, number> | undefined> {
    try {
      const view = await this.backend.read();
      return new Map(Object.entries(view.cohorts).map(([address, cohort]) => [address, cohort.members.count]));
    } catch {
      return undefined;
    }
  }

  /** An apply that stopped on an error still leaves a record, if state can take one. */
  async recordError(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    await this.record("error", null, message).catch(() => undefined);
  }
}
