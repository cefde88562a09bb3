import type pg from "pg";
import type { DuckDBAppender } from "@duckdb/node-api";
import { pgCopyTo } from "../sources/postgres/pg-driver.js";

const NEWLINE = 0x0a;
const FLUSH_ROWS = 100_000;

/**
 * Streams the keys of many snapshots out of PostgreSQL with one COPY … TO STDOUT
 * and appends them as (file, key) rows, `file` being the snapshot's index in
 * `refs`: one round trip however many cohorts a plan reads. (COPY takes no
 * parameters, so the references are inlined as escaped literals.)
 */
export async function copySnapshotsOut(client: pg.PoolClient, table: string, refs: readonly string[], appender: DuckDBAppender): Promise<void> {
  const values = refs.map((ref, i) => `(${client.escapeLiteral(ref)}, ${i})`).join(", ");
  const query = `COPY (SELECT r.i, k.key FROM ${table} AS k JOIN (VALUES ${values}) AS r(snapshot, i) ON k.snapshot = r.snapshot) TO STDOUT`;
  const stream = client.query(pgCopyTo()(query));
  // A raw newline only ends a row (newlines inside keys arrive escaped), so rows
  // are cut on bytes and decoded whole: a UTF-8 character split across chunks survives.
  let rest: Buffer = Buffer.alloc(0);
  let rows = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = data.indexOf(NEWLINE, start); end >= 0; end = data.indexOf(NEWLINE, start)) {
      const line = data.toString("utf8", start, end);
      start = end + 1;
      const tab = line.indexOf("\t");
      appender.appendInteger(Number(line.slice(0, tab)));
      appender.appendVarchar(uncopyText(line.slice(tab + 1)));
      appender.endRow();
      if (++rows % FLUSH_ROWS === 0) appender.flushSync();
    }
    rest = data.subarray(start);
  }
  appender.flushSync();
}

const ESCAPES: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\" };

/** A value from COPY's text format: the backslash sequences COPY TO emits, undone. */
export function uncopyText(value: string): string {
  return value.includes("\\") ? value.replace(/\\(.)/g, (_, c: string) => ESCAPES[c] ?? c) : value;
}
