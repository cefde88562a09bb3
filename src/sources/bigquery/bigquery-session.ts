import { randomUUID } from "node:crypto";
import type { WarehouseSession } from "../dialect.js";

/** How a session runs one query job and reads its result pages (BigQuerySource provides it, with labels, cap and errors). */
export interface BigQueryJobs {
  /** Runs `sql` (named parameters @p1, @p2, … bound from `params`) and yields its rows a page at a time. */
  pages(sql: string, params: Record<string, unknown>, pageSize: number): AsyncIterable<readonly unknown[][]>;
}

/** `[a, b]` → `{ p1: a, p2: b }`: the dialect's SQL names parameters by position (dialect.ts). */
export function namedParams(params: readonly unknown[] = []): Record<string, unknown> {
  return Object.fromEntries(params.map((value, i) => [`p${i + 1}`, value]));
}

/**
 * A WarehouseSession over BigQuery query jobs. BigQuery keeps temporary tables only
 * inside a session or script, which the emulator does not offer either, so a
 * `CREATE TABLE <name> AS …` of the planner's (Dialect.createTempTable) becomes a
 * table of this session's own in `scratchDataset` (coho's dataset), expiring after a
 * day in case the process dies, dropped at close; later statements naming `<name>`
 * read that table.
 */
export function bigQuerySession(jobs: BigQueryJobs, scratchDataset: string): WarehouseSession {
  const tables = new Map<string, string>();
  const id = randomUUID().replace(/-/g, "").slice(0, 12);
  const rewrite = (sql: string) => {
    const created = /^CREATE TABLE ([a-z_][a-z0-9_]*) AS\n/.exec(sql);
    let text = sql;
    if (created) {
      const name = created[1]!;
      const table = `\`${scratchDataset}.${name}_${id}\``;
      tables.set(name, table);
      text = `CREATE TABLE ${table} OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS\n${sql.slice(created[0].length)}`;
    }
    for (const [name, table] of tables) text = text.replace(new RegExp(`\\bFROM ${name}\\b`, "g"), `FROM ${table}`);
    return text;
  };
  const drain = async (sql: string, params: readonly unknown[] | undefined, pageSize: number) => {
    const rows: unknown[][] = [];
    for await (const page of jobs.pages(rewrite(sql), namedParams(params), pageSize)) rows.push(...page);
    return rows;
  };
  return {
    run: async (sql, params) => {
      await drain(sql, params, 1);
    },
    rows: (sql, params) => drain(sql, params, 10_000),
    pages: (sql, params, pageSize) => jobs.pages(rewrite(sql), namedParams(params), pageSize),
    close: async () => {
      for (const table of tables.values()) await drain(`DROP TABLE IF EXISTS ${table}`, [], 1).catch(() => undefined);
      tables.clear();
    },
  };
}
