/**
 * What a destination client reports while it works; it never prints. `endpoint`
 * names the Braze API path (e.g. `cohorts/users`, `users/track`); `target` is the
 * cohort id (cohort road) or the attribute written (attribute road).
 */
export type DestinationEvent =
  | { readonly type: "request"; readonly endpoint: string; readonly cohortId: string; readonly identifiers: number; readonly attempt: number }
  | { readonly type: "acknowledged"; readonly endpoint: string; readonly cohortId: string; readonly identifiers: number; readonly attempts: number; readonly status: number }
  | { readonly type: "retry"; readonly endpoint: string; readonly cohortId: string; readonly attempt: number; readonly reason: string; readonly delayMs: number; readonly status?: number }
  | { readonly type: "failed"; readonly endpoint: string; readonly cohortId: string; readonly message: string; readonly status?: number }
  | { readonly type: "throttled"; readonly waitMs: number };

export type DestinationEventListener = (event: DestinationEvent) => void;

/** The cohort road's former names, kept for readers of older code and tests. */
export type BrazeEvent = DestinationEvent;
export type BrazeEventListener = DestinationEventListener;
