import type pg from "pg";
import type { WarehouseSession } from "../dialect.js";
import { pgCursorClass } from "./pg-driver.js";
import { unlessLost } from "./connection-watch.js";

/** A pg connection as a push-down session: pages come through a server-side cursor. */
export function pgSession(client: pg.Client): WarehouseSession {
  return {
    run: async (sql, params) => {
      await unlessLost(client, client.query(sql, params as unknown[] | undefined));
    },
    rows: async (sql, params) => (await unlessLost(client, client.query({ text: sql, values: params as unknown[] | undefined, rowMode: "array" }))).rows as unknown[][],
    pages: (sql, params, pageSize) => cursorPages(client, sql, params, pageSize),
    close: async () => {
      await client.end().catch(() => undefined);
    },
  };
}

async function* cursorPages(client: pg.Client, sql: string, params: readonly unknown[], pageSize: number): AsyncIterable<readonly unknown[][]> {
  const cursor = client.query(new (pgCursorClass())(sql, params as unknown[], { rowMode: "array" }));
  try {
    for (;;) {
      // pg-cursor may never call back when the connection dies mid-read: the connection's own events reject instead.
      const rows = (await unlessLost(client, cursor.read(pageSize))) as unknown[][];
      if (rows.length === 0) return;
      yield rows;
    }
  } finally {
    await unlessLost(client, cursor.close()).catch(() => undefined);
  }
}
