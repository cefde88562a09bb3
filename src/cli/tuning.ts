import { CohoError } from "../model/errors.js";
import type { Tuning } from "../operations/events.js";

/**
 * Operational knobs from the environment (documented in docs/pull-requests.md, "Run coho in a pipeline"): requests in
 * flight per destination (fixed, or the ceiling of the sized number), the retry
 * budget per request, DuckDB's memory limit.
 */
export function tuningFromEnv(env: NodeJS.ProcessEnv): Tuning {
  const int = (name: string) => {
    const value = env[name];
    if (value === undefined || value === "") return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CohoError("cli.env", `${name} must be a whole number of at least 1`);
    return n;
  };
  const concurrency = int("COHO_CONCURRENCY");
  const maxInFlight = int("COHO_MAX_IN_FLIGHT");
  const maxAttempts = int("COHO_RETRY_MAX_ATTEMPTS");
  const baseDelayMs = int("COHO_RETRY_BASE_DELAY_MS");
  return {
    ...(concurrency ? { concurrency } : {}),
    ...(maxInFlight ? { maxInFlight } : {}),
    ...(maxAttempts || baseDelayMs ? { retry: { ...(maxAttempts ? { maxAttempts } : {}), ...(baseDelayMs ? { baseDelayMs } : {}) } } : {}),
    ...(env.COHO_MEMORY_LIMIT ? { memoryLimit: env.COHO_MEMORY_LIMIT } : {}),
  };
}
