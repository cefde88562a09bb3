import type pg from "pg";
import type { JournalRecord, JournalStore } from "./journal.js";
import { table } from "./postgres-schema.js";

/** Runs `work` in a transaction that first checks this writer still holds the state lock. */
export type FencedTransaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/** Fencing for one-statement writes: a SQL condition on parameter $2, and what to do when it was false. */
export interface FenceStatement {
  readonly condition: (param: number) => string;
  readonly lockId: () => string | undefined;
  readonly lost: () => Promise<Error>;
}

/** The apply journal as a table: each append is its own committed, fenced INSERT. */
export class PostgresJournal implements JournalStore {
  readonly #pool: pg.Pool;
  readonly #table: string;
  /** Resolves once the backend's tables exist. */
  readonly #ready: () => Promise<void>;
  readonly #fenced: FencedTransaction;
  readonly #fence: FenceStatement;

  constructor(pool: pg.Pool, schema: string, ready: () => Promise<void>, fenced: FencedTransaction, fence: FenceStatement) {
    this.#pool = pool;
    this.#table = table(schema, "journal");
    this.#ready = ready;
    this.#fenced = fenced;
    this.#fence = fence;
  }

  /** One statement, one round trip: the insert happens only while this writer holds the lock. */
  async append(record: JournalRecord): Promise<void> {
    await this.#ready();
    const lockId = this.#fence.lockId();
    if (lockId === undefined) {
      await this.#pool.query(`INSERT INTO ${this.#table} (record) VALUES ($1)`, [JSON.stringify(record)]);
      return;
    }
    const { rowCount } = await this.#pool.query(`INSERT INTO ${this.#table} (record) SELECT $1 WHERE ${this.#fence.condition(2)}`, [JSON.stringify(record), lockId]);
    if (rowCount !== 1) throw await this.#fence.lost();
  }

  async read(): Promise<JournalRecord[]> {
    await this.#ready();
    const { rows } = await this.#pool.query<{ record: JournalRecord }>(`SELECT record FROM ${this.#table} ORDER BY seq`);
    return rows.map((r) => r.record);
  }

  async replace(records: readonly JournalRecord[]): Promise<void> {
    await this.#ready();
    await this.#fenced(async (client) => {
      await client.query(`DELETE FROM ${this.#table}`);
      for (const record of records) await client.query(`INSERT INTO ${this.#table} (record) VALUES ($1)`, [JSON.stringify(record)]);
    });
  }

  close(): void {
    // The backend owns the pool.
  }
}
