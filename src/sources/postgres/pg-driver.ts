import { createRequire } from "node:module";
import type pg from "pg";
import type Cursor from "pg-cursor";

// The CLI bundle (scripts/bundle-cli.mjs) removes exactly this line, so its own
// require() bundles the package behind a lazy initializer; the build fails if the line changes.
const require = createRequire(import.meta.url);

/**
 * pg and pg-cursor, loaded on first use (both are CommonJS): a project without
 * PostgreSQL never pays for loading them (~65 ms of CPU at every start).
 */
export function pgDriver(): typeof pg {
  return require("pg") as typeof pg;
}

export function pgCursorClass(): typeof Cursor {
  return require("pg-cursor") as typeof Cursor;
}

export function pgCopyFrom(): typeof import("pg-copy-streams").from {
  return (require("pg-copy-streams") as typeof import("pg-copy-streams")).from;
}

export function pgCopyTo(): typeof import("pg-copy-streams").to {
  return (require("pg-copy-streams") as typeof import("pg-copy-streams")).to;
}
