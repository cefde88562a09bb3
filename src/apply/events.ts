/** What apply reports while it works; front ends turn these into progress lines or NDJSON. */
export type ApplyEvent =
  | { readonly type: "resuming"; readonly cohorts: number; readonly batches: number }
  | { readonly type: "cohort_start"; readonly address: string; readonly total: number }
  | { readonly type: "batch_acked"; readonly address: string; readonly identifiers: number }
  /** A request to Braze will be tried again after `delay_ms`; `reason` says why (status, timeout, dropped connection). */
  | { readonly type: "retry"; readonly destination: string; readonly cohort_id: string; readonly attempt: number; readonly reason: string; readonly delay_ms: number; readonly status?: number }
  | { readonly type: "cohort_done"; readonly address: string; readonly status: string }
  | { readonly type: "state_written"; readonly serial: number };

export type ApplyEventListener = (event: ApplyEvent) => void;
