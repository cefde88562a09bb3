import type { ModelConfig } from "../model/project.js";

/**
 * The seam between the planner and a warehouse (docs/scale-out.md, "The push-down,
 * generalised"). A source whose engine can run the membership diff itself offers a
 * `PushDownTarget` (Source.pushDownTarget); the planner (plan/pushdown.ts) speaks to
 * it only through these types, so the next warehouse is a folder under src/sources/,
 * not edits across plan/.
 *
 * Invariant for every dialect: the identifier rules give exactly the keys and
 * rejection reasons of identifier-sql.ts (the embedded rules), and the member digest
 * exactly the digest of state/member-digest.ts; test/integration/pushdown*.test.ts
 * hold each dialect to that on random and edge-case values.
 */
export interface Dialect {
  /** The engine's name, for messages and events: `postgres`, `redshift`, … */
  readonly name: string;
  /** A quoted identifier (a model's column). */
  quote(name: string): string;
  /** `expr` converted to the engine's text type the rules read (PostgreSQL `::text`, Redshift `VARCHAR(65535)`). */
  asText(expr: string): string;
  /** The column type of keys in coho's tables and temp tables (PostgreSQL `text`, Redshift `VARCHAR(65535)`). */
  readonly textType: string;
  /** A typed NULL of that text type (a model without primary key). */
  readonly nullText: string;
  /** Session settings sent once on a push-down session, before anything else. */
  readonly sessionSettings: readonly string[];
  /** Settings sent just before the diff (PostgreSQL: no parallel plan under a cursor). */
  readonly diffSettings: readonly string[];
  /** A session temporary table holding `select`'s rows. */
  createTempTable(name: string, select: string): string;
  /**
   * The one-pass diff (see sources/postgres/pushdown-sql.ts for the contract): over
   * `rows` (a relation with a text column `v`), against the recorded snapshot in the
   * table `snapshots` (or against nothing), returning DiffRow rows. Its parameters
   * are `diffParams`'s, in that order.
   */
  diffSql(rows: string, snapshots: string | undefined): string;
  diffParams(keyPrefix: string, snapshot: string | undefined): unknown[];
  /** The member digest over `relation` (a text column `key`) as one row; `digestFromRow` reads it. */
  memberDigestSql(relation: string): string;
  digestFromRow(row: readonly unknown[]): string;
  /**
   * A cheap checksum of a snapshot's rows in `snapshots` (parameter 1: the snapshot id):
   * one row of text values, compared with the row recorded when the snapshot was
   * written and verified (never trusted on its own: see state/postgres-snapshot-check.ts).
   */
  checksumSql(snapshots: string): string;
  /** DDL creating coho's snapshot tables in `schema` (idempotent: IF NOT EXISTS). */
  snapshotTablesDdl(schema: string): readonly string[];
}

/** One result row of `Dialect.diffSql`: a change, a rejection count, or the summary of valid rows. */
export type DiffRow = [kind: "add" | "remove" | "rejected" | "valid", key: string | null, n: string, groups: string];

/** One connection of a warehouse, for one push-down (its temp tables and settings are its own). */
export interface WarehouseSession {
  run(sql: string, params?: readonly unknown[]): Promise<void>;
  /** A small result, rows as arrays. */
  rows(sql: string, params?: readonly unknown[]): Promise<unknown[][]>;
  /** A large result a page at a time (a server-side cursor or result pages); memory stays flat. */
  pages(sql: string, params: readonly unknown[], pageSize: number): AsyncIterable<readonly unknown[][]>;
  close(): Promise<void>;
}

/**
 * Where a state backend keeps its snapshots, when that is a database a source may
 * also reach (StateBackend.snapshotHome). A source offers push-down only into a home
 * it is the very database of: the PostgreSQL state database (`url`), or the warehouse
 * of a named source (`source`).
 */
export interface SnapshotHome {
  readonly location: { readonly kind: "url"; readonly url: string } | { readonly kind: "source"; readonly source: string };
  /** Qualified table (snapshot, key) holding every recorded snapshot, as the source's SQL names it. */
  readonly snapshots: string;
  /** Whether a recorded snapshot id lives here (absent: every one does); push-down skips one that does not. */
  readonly holds?: (snapshot: string) => boolean;
  /** Verifies a recorded snapshot where it lives; throws state.snapshot_mismatch when its rows do not match. */
  verify(snapshot: string, expected: { readonly count: number; readonly digest: string }): Promise<void>;
}

/** What a source offers the planner for one push-down. */
export interface PushDownTarget {
  readonly dialect: Dialect;
  /** A session of its own. */
  open(): Promise<WarehouseSession>;
  /** A database error about a model's SQL as a located error (`prefixLength`: characters coho put before the model's SQL). */
  queryError(model: ModelConfig, error: unknown, prefixLength: number): Error;
}

/** A snapshot as written: its id, member count and member digest (state/member-digest.ts). */
export interface WrittenSnapshot {
  readonly snapshot: string;
  readonly count: number;
  readonly digest: string;
}

/** One new snapshot of a fold: built from its recorded base (if any) and the acknowledged changes of its slot. */
export interface SnapshotFold {
  readonly slot: number;
  readonly cohortId: string;
  readonly base: { readonly snapshot: string; readonly count: number; readonly digest: string } | undefined;
}

/** Pages of acknowledged changes: [slot, key, removed]. */
export type ChangePages = AsyncIterable<readonly (readonly [slot: number, key: string, removed: boolean])[]>;

/**
 * Snapshots kept inside a source's own warehouse, in a schema coho owns
 * (`state.snapshots: { source, schema }`), beside a lockfile and journal kept
 * locally or in PostgreSQL (state/warehouse-backend.ts). A plan over a model of that
 * source runs inside the warehouse against them (push-down); after apply each new
 * snapshot is built there from the previous one and the acknowledged changes, so
 * member keys that did not change never cross the network.
 */
export interface SnapshotStore {
  /** Whether a recorded snapshot id is one of this store's (ids name the dialect: `redshift:<cohort id>.<digest>`). */
  holds(snapshot: string): boolean;
  /** Where the snapshots are, for push-down. Creates nothing: plans may run with read-only grants. */
  home(): Promise<SnapshotHome>;
  /** Creates coho's schema and tables when missing (idempotent); apply calls it before it sends anything. */
  prepare(): Promise<void>;
  /** The keys of one recorded snapshot, a page at a time (pull-through plans, coho verify). Unverified: the caller checks the digest. */
  keys(snapshot: string): AsyncIterable<readonly string[]>;
  /**
   * Each job's new snapshot, (base ∪ additions) − removals, built inside the warehouse
   * in one transaction; its digest computed where the rows are and its checksum
   * recorded. Durable when it resolves; results in job order.
   */
  fold(jobs: readonly SnapshotFold[], changes: ChangePages): Promise<WrittenSnapshot[]>;
  /** Deletes every snapshot but those in `keep`. */
  prune(keep: readonly string[]): Promise<void>;
}
