import type pg from "pg";
import type { JournalRecord, JournalStore } from "./journal.js";
import { inTransaction, table } from "./postgres-schema.js";

/** The apply journal as a table: each append is its own committed INSERT. */
export class PostgresJournal implements JournalStore {
  readonly #pool: pg.Pool;
  readonly #table: string;
  /** Resolves once the backend's tables exist. */
  readonly #ready: () => Promise<void>;

  constructor(pool: pg.Pool, schema: string, ready: () => Promise<void>) {
    this.#pool = pool;
    this.#table = table(schema, "journal");
    this.#ready = ready;
  }

  async append(record: JournalRecord): Promise<void> {
    await this.#ready();
    await this.#pool.query(`INSERT INTO ${this.#table} (record) VALUES ($1)`, [JSON.stringify(record)]);
  }

  async read(): Promise<JournalRecord[]> {
    await this.#ready();
    const { rows } = await this.#pool.query<{ record: JournalRecord }>(`SELECT record FROM ${this.#table} ORDER BY seq`);
    return rows.map((r) => r.record);
  }

  async replace(records: readonly JournalRecord[]): Promise<void> {
    await this.#ready();
    await inTransaction(this.#pool, async (client) => {
      await client.query(`DELETE FROM ${this.#table}`);
      for (const record of records) await client.query(`INSERT INTO ${this.#table} (record) VALUES ($1)`, [JSON.stringify(record)]);
    });
  }

  close(): void {
    // The backend owns the pool.
  }
}
