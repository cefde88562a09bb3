import { connect } from "node:net";
import { CohoError } from "../../model/errors.js";
import { redactKnown } from "../../model/redaction.js";

/** How long the connection test waits before leaving a slow network to the retries. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Fails fast when a destination cannot be reached at all: a refused connection or
 * an unknown host is not a hiccup that retries would outlast, and finding it
 * before anything is journaled leaves no request of unknown fate behind (the next
 * apply has nothing to "finish"). A timeout passes: slow networks get the retries.
 */
export async function assertReachable(destination: string, restEndpoint: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(restEndpoint);
  } catch {
    return; // the configuration check reports a bad URL
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const failure = await new Promise<string | undefined>((resolve) => {
    const socket = connect({ host, port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(undefined));
    socket.once("connect", () => done(undefined));
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") done("connection refused");
      else if (error.code === "ENOTFOUND" || error.code === "EAI_AGAIN") done("unknown host");
      else if (error.code === "EHOSTUNREACH" || error.code === "ENETUNREACH") done("host unreachable");
      else done(undefined);
    });
  });
  if (failure === undefined) return;
  throw new CohoError("braze.unreachable", `cannot reach destination ${destination} at ${redactKnown(url.host)}: ${failure}; nothing was sent`, {
    hint: `check destinations.${destination}.rest_endpoint and the network, then run coho check (it tests every connection and key)`,
  });
}
