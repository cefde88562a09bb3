import { resolve } from "node:path";
import { CohoError } from "../model/errors.js";
import { literal, type DuckDbEngine } from "../sources/duckdb-engine.js";
import type { StateBackend } from "./backend.js";
import { LocalBackend, isRegularFile } from "./local-backend.js";
import { digestFromRow, memberDigestByGroupSql } from "./member-digest.js";
import { fileMatches, type ExpectedSnapshot } from "./snapshot-record.js";

export interface SnapshotRequest {
  /** The number the loaded rows are tagged with. */
  readonly slot: number;
  readonly address: string;
  readonly expected: ExpectedSnapshot;
}

/**
 * Loads many cohorts' snapshots into one engine table (slot INTEGER, key VARCHAR),
 * each verified against its digest, so that cohorts are diffed in one join.
 * Local snapshots are read in one scan over all their Parquet files, PostgreSQL
 * ones with one COPY; every digest is then verified in one grouped pass, except
 * for local files whose bytes match the SHA-256 coho recorded when writing them
 * (hashed while DuckDB scans). Should the bulk read fail, snapshots load one by
 * one, which names the broken one.
 */
export async function loadSnapshots(engine: DuckDbEngine, backend: StateBackend, requests: readonly SnapshotRequest[]): Promise<string> {
  const table = `memory.main.${engine.tempTable("snapshots")}`;
  await engine.connection.run(`CREATE TABLE ${table} (slot INTEGER, key VARCHAR)`);
  if (requests.length === 0) return table;
  if (backend instanceof LocalBackend && (await loadLocal(engine, backend, requests, table))) return table;
  if (!(backend instanceof LocalBackend) && backend.copySnapshots) {
    await loadCopied(engine, backend as Required<Pick<StateBackend, "copySnapshots">>, requests, table);
    return table;
  }
  for (const request of requests) {
    const loaded = await backend.loadSnapshot(engine, request.address, request.expected);
    await engine.connection.run(`INSERT INTO ${table} SELECT ${request.slot}, key FROM ${loaded}`);
    await engine.drop(loaded);
  }
  return table;
}

/**
 * Every requested snapshot as one relation (slot INTEGER, key VARCHAR) read where
 * the files lie, when each is a local file holding exactly the bytes coho recorded
 * (its SHA-256): a plan's diff then scans them once, without a copy of every
 * recorded key in a work table. undefined otherwise: the caller loads them
 * (loadSnapshots), which verifies digests and names what is wrong.
 */
export async function snapshotsInPlace(backend: StateBackend, requests: readonly SnapshotRequest[]): Promise<string | undefined> {
  if (requests.length === 0) return "(SELECT NULL::INTEGER AS slot, NULL::VARCHAR AS key WHERE false)";
  if (!(backend instanceof LocalBackend)) return undefined;
  if (requests.some((request) => !isRegularFile(resolve(backend.projectDir, request.expected.snapshot)))) return undefined;
  const { refs, slotsByFile } = filesOf(requests);
  if ((await matchingFiles(backend.projectDir, requests)).size < refs.length) return undefined;
  const list = refs.map((ref) => literal(resolve(backend.projectDir, ref))).join(", ");
  return `(SELECT f.slot, CAST(p.key AS VARCHAR) AS key FROM read_parquet([${list}]) AS p JOIN ${slotsByFile} ON p.file_index = f.file)`;
}

/**
 * Snapshot files, each read once (two slots may share one: a re-target's old side),
 * and the slots each feeds, as SQL VALUES aliased f(file, slot).
 */
function filesOf(requests: readonly SnapshotRequest[]): { refs: string[]; slotsByFile: string } {
  const index = new Map<string, number>();
  const pairs: string[] = [];
  for (const request of requests) {
    const ref = request.expected.snapshot;
    if (!index.has(ref)) index.set(ref, index.size);
    pairs.push(`(${index.get(ref)!}, ${request.slot})`);
  }
  return { refs: [...index.keys()], slotsByFile: `(VALUES ${pairs.join(", ")}) AS f(file, slot)` };
}

/** false: the scan failed; the caller loads one by one, which names the broken snapshot. */
async function loadLocal(engine: DuckDbEngine, backend: LocalBackend, requests: readonly SnapshotRequest[], table: string): Promise<boolean> {
  for (const request of requests) {
    // A missing file, or one that is not a regular file (a FIFO would block the scan), gets the backend's own message and hint.
    if (!isRegularFile(resolve(backend.projectDir, request.expected.snapshot))) await backend.loadSnapshot(engine, request.address, request.expected);
  }
  const { refs, slotsByFile } = filesOf(requests);
  const list = refs.map((ref) => literal(resolve(backend.projectDir, ref))).join(", ");
  // Hashed while DuckDB scans (its threads do the scan; the main thread would only wait).
  const hashed = matchingFiles(backend.projectDir, requests);
  try {
    // file_index is the position in the list: an integer join, not one on file names.
    await engine.connection.run(
      `INSERT INTO ${table} SELECT f.slot, CAST(p.key AS VARCHAR) FROM read_parquet([${list}]) AS p JOIN ${slotsByFile} ON p.file_index = f.file`,
    );
  } catch {
    await hashed;
    await engine.connection.run(`DELETE FROM ${table}`);
    return false;
  }
  const matching = await hashed;
  const unhashed = requests.filter((request) => !matching.has(request.expected.snapshot));
  await verifyDigests(engine, table, unhashed, "coho.lock", `restore .coho/ from where the last apply ran, or forget the cohort with \`coho state rm ADDRESS\` then apply again (which sends every member; on Cohort Import, set its cohort_id in the configuration to keep the same Braze cohort)`, unhashed.length < requests.length);
  return true;
}

/** The snapshot refs whose files hold exactly the bytes recorded for them (each file hashed once). */
async function matchingFiles(projectDir: string, requests: readonly SnapshotRequest[]): Promise<Set<string>> {
  const byRef = new Map<string, ExpectedSnapshot>();
  for (const { expected } of requests) if (expected.sha256 !== undefined) byRef.set(expected.snapshot, expected);
  const matches = await Promise.all([...byRef].map(async ([ref, expected]) => ((await fileMatches(resolve(projectDir, ref), expected)) ? ref : undefined)));
  return new Set(matches.filter((ref): ref is string => ref !== undefined));
}

/** Every snapshot in one bulk read from the backend (one COPY for PostgreSQL). */
async function loadCopied(engine: DuckDbEngine, backend: Required<Pick<StateBackend, "copySnapshots">>, requests: readonly SnapshotRequest[], table: string): Promise<void> {
  const { refs, slotsByFile } = filesOf(requests);
  const name = engine.tempTable("copied_snapshots");
  const copied = `memory.main.${name}`;
  await engine.connection.run(`CREATE TABLE ${copied} (file INTEGER, key VARCHAR)`);
  try {
    await backend.copySnapshots(engine, refs, name);
    await engine.connection.run(`INSERT INTO ${table} SELECT f.slot, c.key FROM ${copied} AS c JOIN ${slotsByFile} ON c.file = f.file`);
  } finally {
    await engine.drop(copied);
  }
  await verifyDigests(engine, table, requests, "its state in the state database", "forget the cohort with `coho state rm ADDRESS` then apply again (which sends every member; on Cohort Import, set its cohort_id in the configuration to keep the same Braze cohort)");
}

/** The digest of every requested slot in one grouped pass; `someSlots`: the table holds other slots too, which are skipped. */
async function verifyDigests(engine: DuckDbEngine, table: string, requests: readonly SnapshotRequest[], where: string, hint: string, someSlots = false): Promise<void> {
  if (requests.length === 0) return;
  const found = new Map<number, { count: number; digest: string }>();
  const filter = someSlots ? ` WHERE slot IN (${requests.map((request) => request.slot).join(", ")})` : "";
  const rows = await engine.connection.runAndReadAll(memberDigestByGroupSql(`SELECT slot, key FROM ${table}${filter}`, "slot"));
  for (const [slot, ...digestRow] of rows.getRows()) found.set(Number(slot), { count: Number(digestRow[0]), digest: digestFromRow(digestRow) });
  for (const request of requests) {
    const got = found.get(request.slot) ?? { count: 0, digest: digestFromRow([0, 0, 0]) };
    if (got.digest === request.expected.digest) continue;
    throw new CohoError(
      "state.snapshot_mismatch",
      `the snapshot of ${request.address} does not match ${where}: expected ${request.expected.count} members (digest ${request.expected.digest}), found ${got.count} (digest ${got.digest})`,
      { hint: hint.replace("ADDRESS", request.address) },
    );
  }
}
