import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { pgCopyFrom } from "../sources/pg-driver.js";

/**
 * Writes a snapshot's keys with COPY … FROM STDIN (text format): one stream
 * instead of one INSERT per batch, several times faster at millions of keys.
 * Runs on the caller's client, inside its transaction.
 */
export async function copySnapshotKeys(client: pg.PoolClient, table: string, snapshot: string, batches: AsyncIterable<string[]>): Promise<void> {
  const sink = client.query(pgCopyFrom()(`COPY ${table} (snapshot, key) FROM STDIN`));
  const prefix = `${copyText(snapshot)}\t`;
  async function* lines(): AsyncGenerator<string> {
    for await (const keys of batches) {
      let chunk = "";
      for (const key of keys) chunk += `${prefix}${copyText(key)}\n`;
      yield chunk;
    }
  }
  await pipeline(Readable.from(lines()), sink);
}

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
export function copyText(value: string): string {
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c]!) : value;
}
