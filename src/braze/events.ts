/** What the client reports while it works; it never prints. */
export type BrazeEndpoint = "cohorts" | "cohorts/users";

export type BrazeEvent =
  | { readonly type: "request"; readonly endpoint: BrazeEndpoint; readonly cohortId: string; readonly identifiers: number; readonly attempt: number }
  | { readonly type: "acknowledged"; readonly endpoint: BrazeEndpoint; readonly cohortId: string; readonly identifiers: number; readonly attempts: number; readonly status: number }
  | { readonly type: "retry"; readonly endpoint: BrazeEndpoint; readonly cohortId: string; readonly attempt: number; readonly reason: string; readonly delayMs: number; readonly status?: number }
  | { readonly type: "failed"; readonly endpoint: BrazeEndpoint; readonly cohortId: string; readonly message: string; readonly status?: number }
  | { readonly type: "throttled"; readonly waitMs: number };

export type BrazeEventListener = (event: BrazeEvent) => void;
