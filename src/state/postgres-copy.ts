import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { pgCopyFrom } from "../sources/postgres/pg-driver.js";

/**
 * Writes snapshot rows (snapshot name, key) with one COPY … FROM STDIN (text
 * format): one stream however many snapshots a fold saves, instead of a round trip
 * per snapshot or an INSERT per batch. Runs on the caller's client, inside its transaction.
 */
export async function copySnapshotRows(client: pg.PoolClient, table: string, rows: AsyncIterable<string[][]>): Promise<void> {
  const sink = client.query(pgCopyFrom()(`COPY ${table} (snapshot, key) FROM STDIN`));
  async function* lines(): AsyncGenerator<string> {
    for await (const batch of rows) {
      let chunk = "";
      for (const [snapshot, key] of batch) chunk += `${copyText(snapshot!)}\t${copyText(key!)}\n`;
      yield chunk;
    }
  }
  await pipeline(Readable.from(lines()), sink);
}

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
export function copyText(value: string): string {
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!) : value;
}
