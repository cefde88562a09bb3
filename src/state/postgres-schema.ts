import type pg from "pg";
import { CohoError } from "../model/errors.js";

/** The version of coho's tables; raised with every migration below. */
export const STATE_SCHEMA_VERSION = 3;

/** Quoted schema-qualified name of one of coho's tables. */
export function table(schema: string, name: string): string {
  return `"${schema.replace(/"/g, '""')}".${name}`;
}

/**
 * Creates (or migrates) coho's tables in `schema`, once, under a transaction-level
 * advisory lock so that two processes starting together do not race.
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<void> {
  const t = (name: string) => table(schema, name);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`coho-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema.replace(/"/g, '""')}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${t("schema_version")} (version integer NOT NULL)`);
    const { rows } = await client.query<{ version: number }>(`SELECT max(version) AS version FROM ${t("schema_version")}`);
    const current = rows[0]?.version ?? 0;
    if (current > STATE_SCHEMA_VERSION) {
      throw new CohoError("state.schema_future", `the state tables in schema ${schema} are version ${current}, made by a newer coho; this coho knows version ${STATE_SCHEMA_VERSION}`, {
        hint: "upgrade coho",
      });
    }
    if (current < 1) {
      await client.query(`
        CREATE TABLE ${t("state")} (
          id integer PRIMARY KEY CHECK (id = 1),
          lineage text NOT NULL,
          serial integer NOT NULL,
          doc jsonb NOT NULL,
          written_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE ${t("snapshot_keys")} (snapshot text NOT NULL, key text NOT NULL);
        CREATE INDEX ON ${t("snapshot_keys")} (snapshot);
        CREATE TABLE ${t("journal")} (seq bigserial PRIMARY KEY, record jsonb NOT NULL);
        CREATE TABLE ${t("lock_holder")} (id integer PRIMARY KEY CHECK (id = 1), info jsonb NOT NULL, backend_pid integer NOT NULL);
        INSERT INTO ${t("schema_version")} VALUES (1);
      `);
    }
    if (current < 2) {
      // Version 2: the apply history (no member keys; the newest 1,000 applies).
      await client.query(`
        CREATE TABLE ${t("history")} (seq bigserial PRIMARY KEY, record jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO ${t("schema_version")} VALUES (2);
      `);
    }
    if (current < 3) {
      // Version 3: per snapshot, the checksum of its rows as verified when written
      // (postgres-snapshot-check.ts), so that readers need not recompute the digest.
      await client.query(`
        CREATE TABLE ${t("snapshot_checks")} (snapshot text PRIMARY KEY, digest text NOT NULL, n bigint NOT NULL, h0 numeric NOT NULL, h1 numeric NOT NULL);
        INSERT INTO ${t("schema_version")} VALUES (3);
      `);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** Runs `work` in a transaction on a pooled connection: committed, or rolled back on error. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
