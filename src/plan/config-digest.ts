import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import type { Project } from "../model/project.js";

/**
 * A digest of everything the plan was computed from in the project: each config
 * file and model SQL (and dbt node checksums), by path relative to the project. A saved plan whose digest
 * no longer matches is refused by apply.
 */
export function configDigest(project: Project): string {
  const hash = createHash("sha256");
  const parts = new Map<string, string>();
  for (const file of project.files) parts.set(relative(project.dir, file), readFileSync(file, "utf8"));
  for (const model of [...project.models.values()]) {
    parts.set(`model:${model.name}`, model.sql);
    // A model changed in dbt changes the plan even when coho's files did not.
    for (const node of model.dbt?.dependsOn ?? []) parts.set(`dbt:${model.name}:${node.uniqueId}`, node.checksum);
  }
  for (const [name, text] of [...parts].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`${name}\0${text}\0`);
  return `sha256:${hash.digest("hex")}`;
}

export function sqlDigest(sql: string): string {
  return `sha256:${createHash("sha256").update(sql, "utf8").digest("hex")}`;
}
