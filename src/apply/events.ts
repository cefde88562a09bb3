/** What apply reports while it works; the CLI turns these into progress lines. */
export type ApplyEvent =
  | { readonly type: "resuming"; readonly cohorts: number; readonly batches: number }
  | { readonly type: "cohort_start"; readonly address: string; readonly total: number }
  | { readonly type: "batch_acked"; readonly address: string; readonly identifiers: number }
  | { readonly type: "retry"; readonly address: string; readonly reason: string }
  | { readonly type: "cohort_done"; readonly address: string; readonly status: string }
  | { readonly type: "state_written"; readonly serial: number };

export type ApplyEventListener = (event: ApplyEvent) => void;
