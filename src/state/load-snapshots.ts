import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { CohoError } from "../model/errors.js";
import { literal, type DuckDbEngine } from "../sources/duckdb-engine.js";
import type { StateBackend } from "./backend.js";
import { LocalBackend } from "./local-backend.js";
import { formatDigest, memberDigestByGroupSql } from "./member-digest.js";

export interface SnapshotRequest {
  /** The number the loaded rows are tagged with. */
  readonly slot: number;
  readonly address: string;
  readonly expected: { readonly snapshot: string; readonly count: number; readonly digest: string };
}

/**
 * Loads many cohorts' snapshots into one engine table (slot INTEGER, key VARCHAR),
 * each verified against its digest, so a set's instances are diffed in one join.
 * Local snapshots are read in one scan over all Parquet files and verified in one
 * grouped digest; other backends load one snapshot after another.
 */
export async function loadSnapshots(engine: DuckDbEngine, backend: StateBackend, requests: readonly SnapshotRequest[]): Promise<string> {
  const table = `memory.main.${engine.tempTable("snapshots")}`;
  await engine.connection.run(`CREATE TABLE ${table} (slot INTEGER, key VARCHAR)`);
  if (requests.length === 0) return table;
  if (backend instanceof LocalBackend && (await loadLocal(engine, backend, requests, table))) return table;
  for (const request of requests) {
    const loaded = await backend.loadSnapshot(engine, request.address, request.expected);
    await engine.connection.run(`INSERT INTO ${table} SELECT ${request.slot}, key FROM ${loaded}`);
    await engine.drop(loaded);
  }
  return table;
}

/** false: the scan failed; the caller loads one by one, which names the broken snapshot. */
async function loadLocal(engine: DuckDbEngine, backend: LocalBackend, requests: readonly SnapshotRequest[], table: string): Promise<boolean> {
  const paths = new Map<number, string>();
  for (const request of requests) {
    const path = resolve(backend.projectDir, request.expected.snapshot);
    // A missing file gets the backend's own message and hint.
    if (!existsSync(path)) await backend.loadSnapshot(engine, request.address, request.expected);
    paths.set(request.slot, path);
  }
  const files = `memory.main.${engine.tempTable("snapshot_files")}`;
  await engine.connection.run(`CREATE TABLE ${files} (path VARCHAR, slot INTEGER)`);
  await engine.connection.run(`INSERT INTO ${files} VALUES ${[...paths].map(([slot, path]) => `(${literal(path)}, ${slot})`).join(", ")}`);
  const list = [...new Set(paths.values())].map(literal).join(", ");
  try {
    await engine.connection.run(
      `INSERT INTO ${table} SELECT f.slot, CAST(p.key AS VARCHAR) FROM read_parquet([${list}], filename = true) AS p JOIN ${files} AS f ON p.filename = f.path`,
    );
  } catch {
    await engine.connection.run(`DELETE FROM ${table}`);
    return false;
  } finally {
    await engine.drop(files);
  }
  await verifyDigests(engine, table, requests, "coho.lock", `restore .coho/ from where the last apply ran, or forget the cohort with \`coho state rm ADDRESS\` and adopt it again with its cohort_id`);
  return true;
}

async function verifyDigests(engine: DuckDbEngine, table: string, requests: readonly SnapshotRequest[], where: string, hint: string): Promise<void> {
  const found = new Map<number, { count: number; digest: string }>();
  const rows = await engine.connection.runAndReadAll(memberDigestByGroupSql(`SELECT slot, key FROM ${table}`, "slot"));
  for (const [slot, n, hi, lo] of rows.getRows()) {
    const count = Number(n);
    found.set(Number(slot), { count, digest: formatDigest(count, BigInt(String(hi)), BigInt(String(lo))) });
  }
  for (const request of requests) {
    const got = found.get(request.slot) ?? { count: 0, digest: formatDigest(0, 0n, 0n) };
    if (got.digest === request.expected.digest) continue;
    throw new CohoError(
      "state.snapshot_mismatch",
      `the snapshot of ${request.address} does not match ${where}: expected ${request.expected.count} members (digest ${request.expected.digest}), found ${got.count} (digest ${got.digest})`,
      { hint: hint.replace("ADDRESS", request.address) },
    );
  }
}
