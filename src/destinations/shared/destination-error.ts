import { CohoError } from "../../model/errors.js";

/** Braze refused a request for good (or retries ran out). Message and hint hold no secret. */
export class BrazeApiError extends CohoError {
  readonly status: number | undefined;
  /** Braze's own message, with any echoed credential redacted. */
  readonly brazeMessage: string;
  readonly attempts: number;

  constructor(options: { status: number | undefined; brazeMessage: string; attempts: number; context: string; hint?: string }) {
    const status = options.status === undefined ? "no answer" : `HTTP ${options.status}`;
    super("braze.request_failed", `${options.context}: Braze answered ${status}: ${options.brazeMessage}`, options.hint === undefined ? {} : { hint: options.hint });
    this.status = options.status;
    this.brazeMessage = options.brazeMessage;
    this.attempts = options.attempts;
  }
}
