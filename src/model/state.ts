import type { IdentifierType } from "./project.js";

/**
 * What coho last applied, as recorded in coho.lock. No identifiers (no PII): member
 * keys live only in snapshots, which the lockfile references and checks by digest.
 */
export interface LockfileDoc {
  readonly format: "coho-lock";
  readonly version: 1;
  /** Set once, when the first state is written; a plan made against another lineage is refused. */
  readonly lineage: string;
  /** +1 on every write. */
  readonly serial: number;
  /**
   * The environment (`environments:` in coho.yaml) this state belongs to, written
   * by every write of a project with environments; a read for another one is refused.
   */
  readonly environment?: string;
  /** By cohort address, e.g. `cohorts.recent_buyers`. */
  readonly cohorts: Readonly<Record<string, CohortState>>;
}

export interface CohortState {
  readonly destination: string;
  /**
   * The workspace the destination reached when applied (endpoint, and partner on
   * the cohort road; never a secret). Absent in lockfiles written before it was
   * recorded: then no re-target is inferred, and the next write records it.
   */
  readonly destination_identity?: string;
  readonly cohort_id: string;
  readonly name: string;
  /** For a list (`first_of`): `column` lists the parts' columns, `parts` holds each part. */
  readonly identifier: {
    readonly name: string;
    readonly type: IdentifierType | "first_of";
    readonly column: string;
    readonly label?: string;
    readonly parts?: readonly { readonly name: string; readonly type: IdentifierType; readonly column: string; readonly label?: string }[];
  };
  readonly model: { readonly name: string; readonly sql_digest: string; readonly sql: string; readonly dbt?: DbtModelState; readonly dbt_refs?: readonly DbtRefState[] };
  readonly prevent_destroy: boolean;
  /** The destination road's binding (attribute road: which attribute), when it has one. */
  readonly target?: string;
  /** Members Braze refused one by one in the last apply (still pending), when there were any. */
  readonly refused?: number;
  /**
   * Members sent in the last apply that Braze did not confirm (no profile at the
   * read-back, `missing_profiles: wait`), when there were any: not among
   * `members`, sent again by the next apply.
   */
  readonly unconfirmed?: number;
  /**
   * When apply last sent every member's addition (a new cohort's first apply, a
   * re-target, a refresh): what `refresh_every` counts from. Absent in entries
   * written before it was recorded: then `applied_at` stands in.
   */
  readonly refreshed_at?: string;
  readonly members: { readonly count: number; readonly digest: string };
  /** Path of the snapshot, relative to the project folder (local backend). */
  readonly snapshot: string;
  /**
   * Hex SHA-256 of the snapshot file's bytes (local backend), recorded when coho
   * writes the file: a reader that finds the same bytes skips the per-member digest.
   * Absent in lockfiles written before it was recorded, and for PostgreSQL state:
   * then the members' digest is checked.
   */
  readonly snapshot_sha256?: string;
  readonly applied_at: string;
}

/** The dbt model a cohort's model was, when applied: followed by unique_id, changes seen by checksum. */
export interface DbtModelState {
  readonly unique_id: string;
  readonly checksum: string;
  /** dbt's compiled SQL when the manifest had it, for the plan's diff. */
  readonly compiled_code?: string;
}

/** A dbt node a plain-SQL model reads through ref() or source(), as last applied: followed by unique_id. */
export interface DbtRefState {
  readonly unique_id: string;
  readonly checksum: string;
  /** The quoted relation the SQL read. */
  readonly relation: string;
}

/** The state before anything was applied. */
export const EMPTY_STATE: { readonly lineage: null; readonly serial: 0; readonly cohorts: Readonly<Record<string, CohortState>> } = {
  lineage: null,
  serial: 0,
  cohorts: {},
};

export type StateView = LockfileDoc | typeof EMPTY_STATE;

/** Who holds the state lock. */
export interface LockInfo {
  readonly id: string;
  readonly operation: string;
  readonly who: string;
  readonly pid: number;
  readonly host: string;
  readonly created: string;
  readonly version: string;
}
