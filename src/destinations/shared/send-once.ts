import type { Pool } from "undici";

export type AttemptOutcome =
  | { readonly kind: "ok"; readonly status: number; readonly headers: Headers; readonly reason: string; readonly body: string }
  | { readonly kind: "retry"; readonly status: number | undefined; readonly headers: Headers | undefined; readonly reason: string }
  | { readonly kind: "fatal"; readonly status: number; readonly headers: Headers; readonly reason: string; readonly body: string };

type Headers = Record<string, string | string[] | undefined>;

/** Statuses worth another attempt: throttling, locks and server trouble. */
function retryable(status: number): boolean {
  return status === 408 || status === 423 || status === 429 || status >= 500;
}

/**
 * One POST, classified. Network failures (dropped connections, resets, timeouts)
 * are retryable: membership changes are idempotent, so re-sending is safe even
 * when Braze did process the lost request.
 */
export async function sendOnce(pool: Pool, path: string, body: string, options: { timeoutMs: number; userAgent: string; headers?: Readonly<Record<string, string>> }): Promise<AttemptOutcome> {
  try {
    const response = await pool.request({
      method: "POST",
      path,
      body,
      headers: { "content-type": "application/json", accept: "application/json", "user-agent": options.userAgent, ...options.headers },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.body.text();
    const headers = response.headers as Headers;
    const status = response.statusCode;
    const reason = brazeMessage(text, status);
    if (status >= 200 && status < 300) return { kind: "ok", status, headers, reason, body: text };
    if (retryable(status)) return { kind: "retry", status, headers, reason };
    return { kind: "fatal", status, headers, reason, body: text };
  } catch (error) {
    return { kind: "retry", status: undefined, headers: undefined, reason: networkReason(error) };
  }
}

function brazeMessage(text: string, status: number): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; errors?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: fall through
  }
  const trimmed = text.trim().slice(0, 200);
  return trimmed === "" ? `HTTP ${status}` : trimmed;
}

function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return "network error";
  const code = (error as { code?: string }).code;
  if (error.name === "TimeoutError" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return "timed out";
  if (code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE") return "connection dropped";
  if (code === "ECONNREFUSED") return "connection refused";
  return code ? `network error (${code})` : `network error (${error.message})`;
}
