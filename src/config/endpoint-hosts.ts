import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";

/**
 * Where a warehouse source may send its credentials and queries besides a
 * loopback stand-in. coho.yaml, which a pull request edits, names the address:
 * any other host would receive the service-account token or password and every
 * setting the requests carry (a project, a database name read from the
 * environment), so it is refused rather than trusted.
 */
export const GOOGLE_API_DOMAINS = ["googleapis.com"] as const;
export const SNOWFLAKE_DOMAINS = ["snowflakecomputing.com", "snowflakecomputing.cn"] as const;

/** Whether `hostname` is one of `domains` or a name under one. */
export function hostWithin(hostname: string, domains: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return domains.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

export function endpointNotAllowed(key: string, hostname: string, allowed: string, location: SourceLocation | undefined): Diagnostic {
  return {
    severity: "error",
    code: "config.endpoint_not_allowed",
    message: `${key}: host ${hostname} is neither ${allowed} nor a loopback stand-in: coho would send the source's credentials and queries there, and coho.yaml, which a pull request edits, must not choose where they go`,
    ...(location ? { location } : {}),
  };
}
