import type pg from "pg";
import { CohoError } from "../model/errors.js";
import type { LockInfo } from "../model/state.js";
import { describeLock, lockLostError } from "./lock-holder.js";
import type { LockEvents } from "./local-lock.js";
import { table } from "./postgres-schema.js";
import { pgDriver } from "../sources/postgres/pg-driver.js";

/**
 * The state lock as a PostgreSQL session advisory lock, held on a connection of
 * its own for as long as the command runs. If the process dies, the server ends
 * its session and releases the lock. Who holds it is recorded beside it.
 */
export class PostgresLock {
  readonly #config: pg.ClientConfig;
  readonly #pool: pg.Pool;
  readonly #schema: string;

  constructor(config: pg.ClientConfig, pool: pg.Pool, schema: string) {
    this.#config = config;
    this.#pool = pool;
    this.#schema = schema;
  }

  /** Resolves to a release function; the returned promise of release is awaited by close(). */
  async acquire(info: LockInfo, timeoutMs: number, events: LockEvents = {}): Promise<() => Promise<void>> {
    const client = new (pgDriver().Client)(this.#config);
    client.on("error", () => undefined);
    await client.connect();
    const holders = table(this.#schema, "lock_holder");
    const deadline = Date.now() + timeoutMs;
    let warned = false;
    try {
      for (;;) {
        const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [this.#key()]);
        if (rows[0]?.ok) break;
        const holder = await this.current();
        if (Date.now() >= deadline) {
          const waited = timeoutMs > 0 ? ` (waited ${Math.round(timeoutMs / 1000)}s)` : "";
          throw new CohoError("state.locked", holder ? `the state is locked by ${describeLock(holder)}${waited}` : `the state is locked${waited}`, {
            hint: holder ? `wait for it to finish, retry with --lock-timeout 5m, or if it is stuck: coho force-unlock ${holder.id}` : "retry with --lock-timeout 5m",
          });
        }
        if (holder && !warned) {
          events.waiting?.(holder);
          warned = true;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(1, deadline - Date.now()))));
      }
      // A holder row left by a session that died: its lock is gone, say we take over.
      const { rows: previous } = await client.query<{ info: LockInfo }>(`SELECT info FROM ${holders} WHERE id = 1`);
      if (previous[0]) events.staleTakenOver?.(previous[0].info);
      await client.query(
        `INSERT INTO ${holders} (id, info, backend_pid) VALUES (1, $1, pg_backend_pid())
         ON CONFLICT (id) DO UPDATE SET info = EXCLUDED.info, backend_pid = EXCLUDED.backend_pid`,
        [JSON.stringify(info)],
      );
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    // Released explicitly before the session ends: the server ends a closed
    // session asynchronously, and until it has, its advisory lock still counts. A
    // command started right after this one (the next CI step) must find the state
    // free, not "locked" by a process that already exited.
    return async () => {
      await client.query(`DELETE FROM ${holders} WHERE id = 1 AND info->>'id' = $1`, [info.id]).catch(() => undefined);
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [this.#key()]).catch(() => undefined);
      await client.end().catch(() => undefined);
    };
  }

  /** The holder of the lock, if a live session holds it. */
  async current(): Promise<LockInfo | undefined> {
    const { rows } = await this.#pool.query<{ info: LockInfo }>(
      `SELECT h.info FROM ${table(this.#schema, "lock_holder")} h
       WHERE EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.pid = h.backend_pid)`,
    );
    return rows[0]?.info;
  }

  /** Ends the session holding the lock, only if `id` is exactly the lock's id. */
  async forceUnlock(id: string): Promise<LockInfo> {
    const holder = await this.current();
    if (!holder) throw new CohoError("state.not_locked", "the state is not locked");
    if (holder.id !== id) throw new CohoError("state.lock_id_mismatch", `lock id ${id} does not match the current lock`, { hint: `the state is locked by ${describeLock(holder)}` });
    const holders = table(this.#schema, "lock_holder");
    await this.#pool.query(`SELECT pg_terminate_backend(backend_pid) FROM ${holders} WHERE id = 1`);
    await this.#pool.query(`DELETE FROM ${holders} WHERE id = 1`);
    return holder;
  }

  /**
   * Fencing: inside the caller's transaction, checks that the lock of id `id` is
   * still held by a live session, and share-locks its holder row so that a
   * concurrent force-unlock (which deletes that row) waits until the write has
   * committed. Throws `state.lock_lost` otherwise.
   */
  async fence(client: pg.ClientBase, held: LockInfo): Promise<void> {
    const { rowCount } = await client.query(`SELECT 1 WHERE ${this.fenceCondition(1)}`, [held.id]);
    if (rowCount !== 1) throw await this.lostError(held);
  }

  /** The fencing check as a SQL condition on parameter `$param` (the lock id), for one-statement writes. */
  fenceCondition(param: number): string {
    return `EXISTS (SELECT 1 FROM ${table(this.#schema, "lock_holder")} h
       WHERE h.id = 1 AND h.info->>'id' = $${param}
         AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.pid = h.backend_pid)
       FOR SHARE OF h)`;
  }

  async lostError(held: LockInfo): Promise<Error> {
    return lockLostError(held, await this.current().catch(() => undefined));
  }

  #key(): string {
    return `coho-state:${this.#schema}`;
  }
}
