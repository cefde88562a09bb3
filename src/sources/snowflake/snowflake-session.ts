import { randomUUID } from "node:crypto";
import type { WarehouseSession } from "../dialect.js";
import type { SnowflakeStatement } from "./snowflake-connection.js";

/** How a session runs statements (SnowflakeSource provides it: one connection of its own, tags, errors). */
export interface SnowflakeRunner {
  execute(statement: Omit<SnowflakeStatement, "tag">): Promise<unknown[][]>;
  pages(statement: Omit<SnowflakeStatement, "tag">, pageSize: number): AsyncIterable<readonly unknown[][]>;
  close(): Promise<void>;
}

type Bind = string | number | boolean | null;

/**
 * A WarehouseSession over one Snowflake connection. The planner's
 * `CREATE TABLE <name> AS …` (Dialect.createTempTable) becomes a transient table of
 * this session's own in coho's schema, `<schema>.<name>_<id>`, dropped at close:
 * a temporary table would live in the model's schema and need CREATE TABLE there.
 * Later statements naming `<name>` read that table.
 */
export function snowflakeSession(runner: SnowflakeRunner, scratchSchema: string): WarehouseSession {
  const tables = new Map<string, string>();
  const id = randomUUID().replace(/-/g, "").slice(0, 12);
  const rewrite = (sql: string) => {
    const created = /^CREATE TABLE ([a-z_][a-z0-9_]*) AS\n/.exec(sql);
    let text = sql;
    if (created) {
      const name = created[1]!;
      const table = `${scratchSchema}.${name}_${id}`;
      tables.set(name, table);
      text = `CREATE TRANSIENT TABLE ${table} AS\n${sql.slice(created[0].length)}`;
    }
    for (const [name, table] of tables) text = text.replace(new RegExp(`\\bFROM ${name}\\b`, "g"), `FROM ${table}`);
    return text;
  };
  const binds = (params: readonly unknown[] | undefined) => (params ?? []).map((p) => (p === undefined ? null : (p as Bind)));
  return {
    run: async (sql, params) => {
      await runner.execute({ sql: rewrite(sql), binds: binds(params) });
    },
    rows: (sql, params) => runner.execute({ sql: rewrite(sql), binds: binds(params) }),
    pages: (sql, params, pageSize) => runner.pages({ sql: rewrite(sql), binds: binds(params) }, pageSize),
    close: async () => {
      try {
        for (const table of tables.values()) await runner.execute({ sql: `DROP TABLE IF EXISTS ${table}` }).catch(() => undefined);
        tables.clear();
      } finally {
        await runner.close();
      }
    },
  };
}
