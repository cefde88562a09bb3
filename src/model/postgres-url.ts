import type { PostgresSslMode } from "./project.js";

/**
 * What coho accepts as a PostgreSQL URL, checked before any driver sees it: the
 * driver would otherwise resolve "localhost:5432/db" against a dummy base and try
 * to reach a host called "base", or die on port 99999. Problems are phrased
 * without the URL itself, which may hold a password.
 */
export type PostgresUrlCheck =
  | { readonly ok: true; readonly sslMode: PostgresSslMode | undefined; readonly stripped: string }
  | { readonly ok: false; readonly problem: string };

/** libpq's sslmode values → coho's ssl.mode; prefer/allow fall back silently between TLS and plain TCP. */
const SSLMODES: Readonly<Record<string, PostgresSslMode | undefined>> = {
  disable: "disable",
  require: "require",
  "verify-ca": "verify-full",
  "verify-full": "verify-full",
};

export function checkPostgresUrl(text: string): PostgresUrlCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const port = Number(/:(\d+)(?:[/?]|$)/.exec(text)?.[1] ?? 0) > 65535;
    return { ok: false, problem: port ? "has a port outside 1–65535" : "is not a URL such as postgres://user@host:5432/db" };
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") return { ok: false, problem: "must start with postgres:// or postgresql://" };
  if (url.port === "0") return { ok: false, problem: "has a port outside 1–65535" };
  const sslmode = url.searchParams.get("sslmode");
  if (sslmode !== null && !(sslmode in SSLMODES)) {
    return { ok: false, problem: `has sslmode=${sslmode}, which coho does not support (it would fall back between TLS and plain TCP silently): use sslmode=disable, require or verify-full, or ssl.mode` };
  }
  for (const key of ["sslmode", "ssl", "sslcompat", "uselibpqcompat"]) url.searchParams.delete(key);
  return { ok: true, sslMode: sslmode === null ? undefined : SSLMODES[sslmode], stripped: url.toString() };
}

/** `host:port/database`, never the user's password. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || "5432"}/${decodeURIComponent(u.pathname.slice(1)) || "(default database)"}`;
  } catch {
    return "(unparseable URL)";
  }
}
