import { randomUUID } from "node:crypto";
import { CohoError } from "../../model/errors.js";
import type { ChangePages, SnapshotFold, SnapshotHome, SnapshotStore, WrittenSnapshot } from "../dialect.js";
import { SNOWFLAKE_DIALECT, ownName } from "./dialect.js";

type Bind = string | number | boolean | null;

/** Runs coho's own statements on its schema (SnowflakeSource, tagged as state work). */
export interface SnowflakeStateRunner {
  rows(sql: string, binds?: readonly Bind[]): Promise<unknown[][]>;
  pages(sql: string, binds: readonly Bind[], pageSize: number): AsyncIterable<readonly unknown[][]>;
}

/** Snapshot ids this store writes: `snowflake:<cohort id>.<random>`; others live elsewhere (local files, PostgreSQL). */
const PREFIX = "snowflake:";

/**
 * Keys sent per statement, as one bind joined by newlines (member keys hold no control
 * character) and split back inside Snowflake: at most ~5 MB of text per statement.
 */
const KEYS_PER_INSERT = 10_000;

/**
 * coho's snapshots inside Snowflake, in a schema coho owns (the state's snapshots
 * setting), in the source's database: `snapshot_keys (snapshot, key)` and
 * `snapshot_checks` (digest, count and HASH_AGG checksum recorded at write). A fold
 * sends only the acknowledged changes into a transient table; Snowflake builds
 * (base ∪ additions) MINUS removals under a new id with one INSERT … SELECT, computes
 * its digest and checksum where the rows are, and records them last: a snapshot
 * without its check row is never referenced by a lockfile.
 */
export class SnowflakeSnapshotStore implements SnapshotStore {
  readonly #runner: SnowflakeStateRunner;
  readonly #source: string;
  /** As the configuration names it (the DDL quotes it if needed), and as SQL names it. */
  readonly #schemaName: string;
  readonly #schema: string;
  #ready: Promise<void> | undefined;

  constructor(runner: SnowflakeStateRunner, source: string, schema: string) {
    this.#runner = runner;
    this.#source = source;
    this.#schemaName = schema;
    this.#schema = ownName(schema);
  }

  get #keys(): string {
    return `${this.#schema}.snapshot_keys`;
  }

  get #checks(): string {
    return `${this.#schema}.snapshot_checks`;
  }

  holds(snapshot: string): boolean {
    return snapshot.startsWith(PREFIX);
  }

  /** Creates nothing: plans may run with read-only grants. */
  async home(): Promise<SnapshotHome> {
    return {
      location: { kind: "source", source: this.#source },
      snapshots: this.#keys,
      verify: (snapshot, expected) => this.#verify(snapshot, expected),
    };
  }

  /** coho's schema and tables, created when missing (apply, before it sends anything). */
  prepare(): Promise<void> {
    return this.#ensureTables();
  }

  async *keys(snapshot: string): AsyncIterable<readonly string[]> {
    for await (const page of this.#runner.pages(`SELECT key FROM ${this.#keys} WHERE snapshot = :1`, [snapshot], 10_000)) {
      yield page.map((row) => String(row[0]));
    }
  }

  async fold(jobs: readonly SnapshotFold[], changes: ChangePages): Promise<WrittenSnapshot[]> {
    await this.#ensureTables();
    const staging = `${this.#schema}.coho_changes_${randomUUID().replace(/-/g, "")}`;
    await this.#runner.rows(`CREATE TRANSIENT TABLE ${staging} (slot NUMBER(10, 0), key VARCHAR, removed BOOLEAN)`);
    try {
      // One batch per (slot, removed): the keys travel as one bind, FLATTEN(SPLIT(…)) makes rows of them.
      const batches = new Map<string, { slot: number; removed: boolean; keys: string[] }>();
      const flush = async (batch: { slot: number; removed: boolean; keys: string[] }) => {
        if (batch.keys.length === 0) return;
        await this.#runner.rows(
          `INSERT INTO ${staging} (slot, key, removed)\nSELECT ${Math.trunc(batch.slot)}, coho_keys.value::VARCHAR, ${batch.removed ? "TRUE" : "FALSE"} FROM TABLE(FLATTEN(INPUT => SPLIT(:1, '\\n'))) AS coho_keys`,
          [batch.keys.join("\n")],
        );
        batch.keys = [];
      };
      for await (const page of changes) {
        for (const [slot, key, removed] of page) {
          const id = `${slot}:${removed}`;
          let batch = batches.get(id);
          if (!batch) batches.set(id, (batch = { slot, removed, keys: [] }));
          batch.keys.push(key);
          if (batch.keys.length >= KEYS_PER_INSERT) await flush(batch);
        }
      }
      for (const batch of batches.values()) await flush(batch);
      const written: WrittenSnapshot[] = [];
      for (const job of jobs) written.push(await this.#foldOne(job, staging));
      return written;
    } finally {
      await this.#runner.rows(`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined);
    }
  }

  async prune(keep: readonly string[]): Promise<void> {
    await this.#ensureTables();
    const kept = keep.length > 0 ? ` AND snapshot NOT IN (${keep.map((_, i) => `:${i + 1}`).join(", ")})` : "";
    for (const table of [this.#keys, this.#checks]) {
      await this.#runner.rows(`DELETE FROM ${table} WHERE STARTSWITH(snapshot, '${PREFIX}')${kept}`, [...keep]);
    }
  }

  async #foldOne(job: SnapshotFold, staging: string): Promise<WrittenSnapshot> {
    const snapshot = `${PREFIX}${job.cohortId}.${randomUUID().replace(/-/g, "")}`;
    // Without a base, :2 is '' (no snapshot has that id): every bind is used either way.
    await this.#runner.rows(
      `INSERT INTO ${this.#keys} (snapshot, key)
SELECT :1, key FROM (
  (
    SELECT key FROM ${this.#keys} WHERE snapshot = :2
    UNION
    SELECT key FROM ${staging} WHERE slot = :3 AND NOT removed
  )
  MINUS
  SELECT key FROM ${staging} WHERE slot = :3 AND removed
) AS coho_next`,
      [snapshot, job.base?.snapshot ?? "", job.slot],
    );
    const digestRow = await this.#row(SNOWFLAKE_DIALECT.memberDigestSql(`SELECT key FROM ${this.#keys} WHERE snapshot = :1`), [snapshot]);
    const digest = SNOWFLAKE_DIALECT.digestFromRow(digestRow);
    const [n, h] = await this.#row(SNOWFLAKE_DIALECT.checksumSql(this.#keys), [snapshot]);
    await this.#runner.rows(`INSERT INTO ${this.#checks} (snapshot, digest, n, h) VALUES (:1, :2, :3, :4)`, [snapshot, digest, String(n), String(h)]);
    return { snapshot, count: Number(digestRow[0]), digest };
  }

  /** The recorded check row must match the snapshot's rows now (count and HASH_AGG, both from this warehouse) and the digest the state expects. */
  async #verify(snapshot: string, expected: { readonly count: number; readonly digest: string }): Promise<void> {
    const recorded = await this.#runner.rows(`SELECT digest, n, h FROM ${this.#checks} WHERE snapshot = :1`, [snapshot]);
    const [n, h] = await this.#row(SNOWFLAKE_DIALECT.checksumSql(this.#keys), [snapshot]);
    const check = recorded[0];
    const ok = check !== undefined && check[0] === expected.digest && String(check[1]) === String(expected.count) && String(check[1]) === String(n) && String(check[2]) === String(h);
    if (ok) return;
    throw new CohoError("state.snapshot_mismatch", `the snapshot ${snapshot} in Snowflake (${this.#keys}) does not match the state: expected ${expected.count} members, found ${Number(n)}${check ? "" : " and no check recorded at write"}`, {
      hint: "someone changed coho's snapshot tables; forget the cohort with `coho state rm <address>` and adopt it again with its cohort_id",
    });
  }

  #ensureTables(): Promise<void> {
    this.#ready ??= (async () => {
      for (const ddl of SNOWFLAKE_DIALECT.snapshotTablesDdl(this.#schemaName)) await this.#runner.rows(ddl);
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  async #row(sql: string, binds: readonly Bind[]): Promise<readonly unknown[]> {
    return (await this.#runner.rows(sql, binds))[0] ?? [];
  }
}
