import type pg from "pg";
import { HISTORY_LIMIT, selectHistory, type HistoryQuery, type HistoryRecord, type HistoryStore } from "../model/history.js";
import { inTransaction, table } from "./postgres-schema.js";

/** The `history` table: one row per apply; the newest HISTORY_LIMIT rows are kept. */
export class PostgresHistory implements HistoryStore {
  readonly #pool: pg.Pool;
  readonly #table: string;
  /** Resolves once the backend's tables exist. */
  readonly #ready: () => Promise<void>;

  constructor(pool: pg.Pool, schema: string, ready: () => Promise<void>) {
    this.#pool = pool;
    this.#table = table(schema, "history");
    this.#ready = ready;
  }

  async append(record: HistoryRecord): Promise<void> {
    await this.#ready();
    await inTransaction(this.#pool, async (client) => {
      await client.query(`INSERT INTO ${this.#table} (record) VALUES ($1)`, [JSON.stringify(record)]);
      await client.query(`DELETE FROM ${this.#table} WHERE seq <= (SELECT max(seq) FROM ${this.#table}) - $1`, [HISTORY_LIMIT]);
    });
  }

  async list(query?: HistoryQuery): Promise<HistoryRecord[]> {
    await this.#ready();
    const { rows } = await this.#pool.query<{ record: HistoryRecord }>(`SELECT record FROM ${this.#table} ORDER BY seq`);
    return selectHistory(rows.map((r) => r.record), query);
  }
}
