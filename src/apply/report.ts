import type { Action } from "../model/plan.js";

/** partial: every request answered, but Braze refused some members one by one (they stay pending). */
export type CohortStatus = "done" | "partial" | "failed" | "stopped" | "skipped";

/** What apply did to one cohort. `failed`: identifiers whose batches were not acknowledged. */
export interface CohortReport {
  readonly address: string;
  readonly actions: readonly Action[];
  readonly status: CohortStatus;
  readonly added: number;
  readonly removed: number;
  readonly rejected: number;
  readonly failed: number;
  /** Members Braze refused one by one (a 201 with errors): not acknowledged, still pending. */
  readonly refused: number;
  /** Braze's message → how many members it refused with it. */
  readonly refusals?: Readonly<Record<string, number>>;
  /**
   * Additions sent and taken (201) that Braze did not confirm: a read-back found
   * no profile (missing_profiles: wait). Not recorded as members; sent again.
   */
  readonly unconfirmed: number;
  readonly requests: number;
  readonly retries: number;
  readonly duration_ms: number;
  readonly error?: string;
  /** What to check, naming the config key and environment variable (a refused key, a wrong endpoint). */
  readonly hint?: string;
}

/** `coho apply --json` (format coho-apply-report 1.0; schema/coho-apply-report.schema.json). */
export interface ApplyReport {
  readonly format: "coho-apply-report";
  readonly format_version: "1.0";
  /** The environment applied to, when coho.yaml declares environments. */
  readonly environment?: string;
  readonly started_at: string;
  readonly finished_at: string;
  readonly duration_ms: number;
  readonly success: boolean;
  /** True when SIGINT/SIGTERM stopped it early; a new apply resumes. */
  readonly interrupted: boolean;
  /** Work of an earlier, interrupted apply that this run finished first. */
  readonly resumed: { readonly cohorts: number; readonly batches: number } | null;
  readonly state: { readonly lineage: string | null; readonly serial: number };
  readonly cohorts: readonly CohortReport[];
  readonly totals: {
    readonly added: number;
    readonly removed: number;
    readonly rejected: number;
    readonly failed: number;
    readonly refused: number;
    readonly unconfirmed: number;
    readonly requests: number;
    readonly retries: number;
  };
}

export function totals(cohorts: readonly CohortReport[]): ApplyReport["totals"] {
  const sum = (key: "added" | "removed" | "rejected" | "failed" | "refused" | "unconfirmed" | "requests" | "retries") => cohorts.reduce((n, c) => n + c[key], 0);
  return { added: sum("added"), removed: sum("removed"), rejected: sum("rejected"), failed: sum("failed"), refused: sum("refused"), unconfirmed: sum("unconfirmed"), requests: sum("requests"), retries: sum("retries") };
}

/** The report of one apply run, from its start time, the cohorts it carried out and the state it left. */
export function buildApplyReport(
  started: Date,
  resumed: ApplyReport["resumed"],
  cohorts: ApplyReport["cohorts"],
  state: { readonly lineage: string | null; readonly serial: number },
  interrupted: boolean,
  finished: Date = new Date(),
): ApplyReport {
  return {
    format: "coho-apply-report",
    format_version: "1.0",
    started_at: started.toISOString(),
    finished_at: finished.toISOString(),
    duration_ms: finished.getTime() - started.getTime(),
    success: cohorts.every((c) => c.status === "done") && !interrupted,
    interrupted,
    resumed,
    state: { lineage: state.lineage, serial: state.serial },
    cohorts,
    totals: totals(cohorts),
  };
}
