import { randomUUID } from "node:crypto";
import { CohoError } from "../../model/errors.js";
import type { ChangePages, SnapshotFold, SnapshotHome, SnapshotStore, WrittenSnapshot } from "../dialect.js";
import { BIGQUERY_DIALECT } from "./dialect.js";

/** Runs coho's own queries on its dataset (BigQuerySource.query without a model). */
export interface BigQueryRunner {
  pages(sql: string, params: Record<string, unknown>, pageSize: number): AsyncIterable<readonly unknown[][]>;
  /** Creates the dataset when missing (the API call; DDL for datasets is not everywhere). */
  ensureDataset(dataset: string): Promise<void>;
  /** Whether a table exists (the API call: the emulator refuses CREATE TABLE IF NOT EXISTS for an existing table). */
  tableExists(dataset: string, table: string): Promise<boolean>;
}

/** Snapshot ids this store writes: `bigquery:<cohort id>.<random>`; others live elsewhere (local files, PostgreSQL). */
const PREFIX = "bigquery:";

/** A GoogleSQL string literal: backslash and quote escaped, control characters as \\u escapes (member keys hold none, but a literal must never break). */
export function stringLiteral(text: string): string {
  return `'${text.replace(/[\\']/g, "\\$&").replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}'`;
}

/** Changes sent per INSERT (as one array parameter): well under BigQuery's request size limit for keys of up to 512 bytes. */
const CHANGES_PER_INSERT = 5_000;

/**
 * coho's snapshots inside BigQuery, in a dataset coho owns (the state's snapshots setting):
 * `snapshot_keys (snapshot, key)` clustered by snapshot, and `snapshot_checks`
 * (digest, count and checksum recorded at write). A fold sends only the acknowledged
 * changes; BigQuery builds (base ∪ additions) − removals under a new id with one
 * INSERT … SELECT, computes its digest and checksum where the rows are, and records
 * them last: a snapshot without its check row is never referenced by a lockfile.
 */
export class BigQuerySnapshotStore implements SnapshotStore {
  readonly #runner: BigQueryRunner;
  readonly #source: string;
  readonly #dataset: string;
  #ready: Promise<void> | undefined;

  constructor(runner: BigQueryRunner, source: string, dataset: string) {
    this.#runner = runner;
    this.#source = source;
    this.#dataset = dataset;
  }

  get #keys(): string {
    return `\`${this.#dataset}\`.snapshot_keys`;
  }

  get #checks(): string {
    return `\`${this.#dataset}\`.snapshot_checks`;
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

  /** coho's dataset and tables, created when missing (apply, before it sends anything). */
  prepare(): Promise<void> {
    return this.#ensureTables();
  }

  async *keys(snapshot: string): AsyncIterable<readonly string[]> {
    for await (const page of this.#runner.pages(`SELECT key FROM ${this.#keys} WHERE snapshot = @p1`, { p1: snapshot }, 10_000)) {
      yield page.map((row) => String(row[0]));
    }
  }

  async fold(jobs: readonly SnapshotFold[], changes: ChangePages): Promise<WrittenSnapshot[]> {
    await this.#ensureTables();
    const staging = `\`${this.#dataset}\`.coho_changes_${randomUUID().replace(/-/g, "")}`;
    await this.#run(`CREATE TABLE ${staging} (slot INT64, key STRING, removed BOOL) OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY))`);
    try {
      let batch: { slot: number; key: string; removed: boolean }[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        // As literals: the emulator does not take an ARRAY<STRUCT> parameter (UNNEST sees a STRING).
        const values = batch.map((c) => `(${c.slot}, ${stringLiteral(c.key)}, ${c.removed ? "TRUE" : "FALSE"})`).join(",\n");
        await this.#run(`INSERT INTO ${staging} (slot, key, removed) VALUES\n${values}`);
        batch = [];
      };
      for await (const page of changes) {
        for (const [slot, key, removed] of page) {
          batch.push({ slot, key, removed });
          if (batch.length >= CHANGES_PER_INSERT) await flush();
        }
      }
      await flush();
      const written: WrittenSnapshot[] = [];
      for (const job of jobs) written.push(await this.#foldOne(job, staging));
      return written;
    } finally {
      await this.#run(`DROP TABLE IF EXISTS ${staging}`).catch(() => undefined);
    }
  }

  async prune(keep: readonly string[]): Promise<void> {
    await this.#ensureTables();
    // An empty array parameter has no type BigQuery can infer: with nothing to keep, no list is sent.
    const kept = keep.length > 0 ? " AND snapshot NOT IN UNNEST(@p1)" : "";
    for (const table of [this.#keys, this.#checks]) {
      await this.#run(`DELETE FROM ${table} WHERE STARTS_WITH(snapshot, '${PREFIX}')${kept}`, keep.length > 0 ? { p1: [...keep] } : {});
    }
  }

  async #foldOne(job: SnapshotFold, staging: string): Promise<WrittenSnapshot> {
    const snapshot = `${PREFIX}${job.cohortId}.${randomUUID().replace(/-/g, "")}`;
    const base = job.base ? `SELECT key FROM ${this.#keys} WHERE snapshot = @p2\n      UNION DISTINCT\n      ` : "";
    await this.#run(
      `INSERT INTO ${this.#keys} (snapshot, key)
SELECT @p1, key FROM (
  (
    ${base}SELECT key FROM ${staging} WHERE slot = @p3 AND NOT removed
  )
  EXCEPT DISTINCT
  SELECT key FROM ${staging} WHERE slot = @p3 AND removed
) AS coho_next`,
      { p1: snapshot, p2: job.base?.snapshot ?? "", p3: job.slot },
    );
    const digestRow = await this.#row(BIGQUERY_DIALECT.memberDigestSql(`SELECT key FROM ${this.#keys} WHERE snapshot = @p1`), { p1: snapshot });
    const digest = BIGQUERY_DIALECT.digestFromRow(digestRow);
    const [n, h] = await this.#row(BIGQUERY_DIALECT.checksumSql(this.#keys), { p1: snapshot });
    await this.#run(`INSERT INTO ${this.#checks} (snapshot, digest, n, h) VALUES (@p1, @p2, @p3, @p4)`, { p1: snapshot, p2: digest, p3: String(n), p4: String(h) });
    return { snapshot, count: Number(digestRow[0]), digest };
  }

  /** The recorded check row must match the snapshot's rows now (count and checksum) and the digest the state expects. */
  async #verify(snapshot: string, expected: { readonly count: number; readonly digest: string }): Promise<void> {
    const recorded = await this.#rows(`SELECT digest, n, h FROM ${this.#checks} WHERE snapshot = @p1`, { p1: snapshot });
    const [n, h] = await this.#row(BIGQUERY_DIALECT.checksumSql(this.#keys), { p1: snapshot });
    const check = recorded[0];
    const ok = check !== undefined && check[0] === expected.digest && String(check[1]) === String(expected.count) && String(check[1]) === String(n) && String(check[2]) === String(h);
    if (ok) return;
    throw new CohoError("state.snapshot_mismatch", `the snapshot ${snapshot} in BigQuery (${this.#keys}) does not match the state: expected ${expected.count} members, found ${Number(n)}${check ? "" : " and no check recorded at write"}`, {
      hint: "someone changed coho's snapshot tables; forget the cohort with `coho state rm <address>` and adopt it again with its cohort_id",
    });
  }

  #ensureTables(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#runner.ensureDataset(this.#dataset);
      const [keys, checks] = BIGQUERY_DIALECT.snapshotTablesDdl(this.#dataset).slice(1);
      if (!(await this.#runner.tableExists(this.#dataset, "snapshot_keys"))) await this.#run(keys!);
      if (!(await this.#runner.tableExists(this.#dataset, "snapshot_checks"))) await this.#run(checks!);
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  async #run(sql: string, params: Record<string, unknown> = {}): Promise<void> {
    for await (const _ of this.#runner.pages(sql, params, 1)) {
      // statements answer with no rows
    }
  }

  async #rows(sql: string, params: Record<string, unknown>): Promise<unknown[][]> {
    const rows: unknown[][] = [];
    for await (const page of this.#runner.pages(sql, params, 10_000)) rows.push(...page);
    return rows;
  }

  async #row(sql: string, params: Record<string, unknown>): Promise<readonly unknown[]> {
    return (await this.#rows(sql, params))[0] ?? [];
  }
}
