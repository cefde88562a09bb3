import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { EXAMPLES, FIXTURES } from "./fixtures.js";
import { writeProject } from "./project.js";

/** Manifest fixtures, one per supported schema version, shaped after dbt's published schemas. */
export const DBT_FIXTURES = join(FIXTURES, "dbt");
export const MANIFEST_VERSIONS = [10, 11, 12] as const;
export const manifestFixture = (name: string): string => join(DBT_FIXTURES, name);

/** The relations dbt builds for the fixture manifests (the same script as examples/dbt). */
export const WAREHOUSE_SQL = join(EXAMPLES, "dbt", "warehouse.sql");

/** The `dbt:` setting plus a DuckDB source named warehouse, as coho.yaml starts. */
export function dbtHeader(extra = ""): string {
  return `version: 1
dbt:
  manifest: target/manifest.json
  source: warehouse
${extra}sources:
  warehouse: { type: duckdb, path: warehouse.duckdb }
`;
}

/**
 * A project folder: `coho.yaml` as given, the manifest fixture copied to
 * target/manifest.json (as dbt writes it), and any other files.
 */
export function dbtProject(cohoYaml: string, manifest: string | null = "manifest-v12.json", files: Record<string, string> = {}): string {
  const dir = writeProject({ "coho.yaml": cohoYaml, ...files });
  if (manifest !== null) useManifest(dir, manifest);
  return dir;
}

/** Puts a fixture manifest at target/manifest.json: what a new `dbt compile` does. */
export function useManifest(dir: string, fixture: string): void {
  mkdirSync(join(dir, "target"), { recursive: true });
  copyFileSync(manifestFixture(fixture), join(dir, "target", "manifest.json"));
}

/** A fixture manifest, edited: for versions and shapes no fixture has. */
export function writeManifest(dir: string, edit: (manifest: Record<string, any>) => void, fixture = "manifest-v12.json"): void {
  const manifest = JSON.parse(readFileSync(manifestFixture(fixture), "utf8")) as Record<string, any>;
  edit(manifest);
  mkdirSync(join(dir, "target"), { recursive: true });
  writeFileSync(join(dir, "target", "manifest.json"), JSON.stringify(manifest));
}

/** warehouse.duckdb in `dir`, holding what `dbt build` would leave, plus `extraSql`. */
export async function buildWarehouse(dir: string, extraSql = ""): Promise<string> {
  const path = join(dir, "warehouse.duckdb");
  mkdirSync(dirname(path), { recursive: true });
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    await connection.run(readFileSync(WAREHOUSE_SQL, "utf8") + extraSql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return path;
}
