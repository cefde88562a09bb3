import { execFileSync } from "node:child_process";
import { inject } from "vitest";
import { createDatabase, runSql } from "./project.js";

/**
 * Redshift's stand-in: a PostgreSQL database of the test cluster. coho's Redshift
 * path speaks Redshift's dialect to it (sources/redshift/); PostgreSQL lacks two of
 * the Redshift functions that dialect calls, so they are defined here:
 *   STRTOL(text, 16): exact, as Redshift's (hex digits to BIGINT): the member digest needs it exact;
 *   FNV_HASH(text[, seed]): a 64-bit hash of the text (PostgreSQL's hashtextextended, not
 *   FNV-1a): the snapshot checksum only compares it with itself.
 * Redshift's table attributes (DISTKEY, SORTKEY, DISTSTYLE) are not accepted by
 * PostgreSQL: coho gives a server whose version() does not name Redshift the same
 * tables without them (sources/redshift/redshift-source.ts); the Redshift form is
 * checked by test/integration/redshift-statements.test.ts.
 */
export const STAND_IN_FUNCTIONS = `
CREATE OR REPLACE FUNCTION strtol(text, integer) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT CASE WHEN $2 = 16 THEN ('x' || lpad($1, 16, '0'))::bit(64)::bigint END $$;
CREATE OR REPLACE FUNCTION fnv_hash(text, bigint DEFAULT 0) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT hashtextextended($1, $2) $$;
`;

/** A fresh database standing in for a Redshift cluster, with STAND_IN_FUNCTIONS. */
export async function redshiftStandIn(prefix = "redshift"): Promise<string> {
  const url = await createDatabase(inject("pgUrl"), prefix);
  await runSql(url, STAND_IN_FUNCTIONS);
  return url;
}

/** Replaces the rows of `table` synchronously, through psql's COPY: a value per row, or an array of column values (null is SQL NULL). */
export function replaceRows(url: string, table: string, rows: readonly (string | readonly (string | null)[])[]): void {
  const field = (v: string | null) => (v === null ? "\\N" : v.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r"));
  const input = rows.map((row) => (typeof row === "string" ? field(row) : row.map(field).join("\t"))).join("\n");
  const values = rows;
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", `TRUNCATE ${table}`, "-c", `\\copy ${table} FROM STDIN`], { input: values.length > 0 ? `${input}\n` : "", stdio: ["pipe", "pipe", "pipe"] });
}
