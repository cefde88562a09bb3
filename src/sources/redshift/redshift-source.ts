import type { RedshiftSourceConfig } from "../../model/project.js";
import type { Dialect, WarehouseSession } from "../dialect.js";
import { PostgresSource } from "../postgres/postgres-source.js";
import { REDSHIFT_DIALECT, redshiftSnapshotDdl } from "./dialect.js";

/**
 * An Amazon Redshift source, over the PostgreSQL wire protocol (the `pg` driver, as a
 * PostgreSQL source): models stream through a cursor; push-down and snapshots speak
 * Redshift's dialect (dialect.ts).
 */
export class RedshiftSource extends PostgresSource {
  constructor(config: RedshiftSourceConfig) {
    super(config);
  }

  override get engineName(): string {
    return "Redshift";
  }

  override get dialect(): Dialect {
    return REDSHIFT_DIALECT;
  }

  /**
   * Redshift's DDL (DISTKEY, SORTKEY, DISTSTYLE) on Redshift. A server whose version()
   * does not name Redshift is a PostgreSQL stand-in (coho's tests run the Redshift
   * path on one): PostgreSQL has no table attributes, so it gets the same tables
   * without them and an index on snapshot, the equivalent of the sort key.
   */
  override async snapshotDdl(session: WarehouseSession, schema: string): Promise<readonly string[]> {
    const version = String((await session.rows("SELECT version()"))[0]?.[0] ?? "");
    return /redshift/i.test(version) ? redshiftSnapshotDdl(schema) : standInSnapshotDdl(schema);
  }
}

/** The PostgreSQL stand-in's equivalent of redshiftSnapshotDdl. */
export function standInSnapshotDdl(schema: string): string[] {
  const [createSchema, keys, checks] = redshiftSnapshotDdl(schema) as [string, string, string];
  const quoted = `"${schema.replace(/"/g, '""')}"`;
  return [
    createSchema,
    keys.replace(/ DISTKEY \(key\) SORTKEY \(snapshot\)$/, ""),
    `CREATE INDEX IF NOT EXISTS snapshot_keys_snapshot ON ${quoted}.snapshot_keys (snapshot)`,
    checks.replace(/ DISTSTYLE ALL$/, ""),
  ];
}
