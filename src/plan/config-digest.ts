import { createHash } from "node:crypto";
import { isAbsolute, relative, sep } from "node:path";
import { Secret } from "../model/secret.js";
import type { Project } from "../model/project.js";
import { canonicalJson } from "../state/canonical-json.js";
import { describeTarget } from "../model/postgres-url.js";

/** Where things are declared, and where the project sits on disk: not part of what it means. */
const NOT_SEMANTIC = new Set(["origin", "sqlOrigin", "dir", "configFile", "files"]);

/**
 * A digest of the resolved, semantic configuration the plan was computed from:
 * every source, destination (endpoint and partner as resolved from the
 * environment), model SQL, identifier, cohort and moved block, without source
 * positions. A comment or formatting edit keeps it; a different
 * `${env:BRAZE_URL}` at apply time changes it. Secrets never enter it (a
 * database URL held as a secret contributes only its host, port and database).
 * A saved plan whose digest no longer matches is refused by apply.
 */
export function configDigest(project: Project): string {
  const semantic = semanticValue(project, project.dir, "");
  return `sha256:${createHash("sha256").update(canonicalJson(semantic), "utf8").digest("hex")}`;
}

function semanticValue(value: unknown, dir: string, key: string): unknown {
  // An unset URL (a plan from the coho.lock mirror) has no target; such plans are never saved.
  if (value instanceof Secret) return key === "url" && value.resolved ? { target: describeTarget(value.reveal()) } : undefined;
  if (value instanceof Map) return semanticValue(Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), v])), dir, key);
  if (Array.isArray(value)) return value.map((item) => semanticValue(item, dir, key) ?? null);
  if (typeof value === "string") return projectRelative(value, dir);
  if (value === null || typeof value !== "object") return value;
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (NOT_SEMANTIC.has(k)) continue;
    const inner = semanticValue(v, dir, k);
    if (inner !== undefined) result[k] = inner;
  }
  return result;
}

/** Absolute paths inside the project are digested relative to it, so a moved checkout keeps its plans. */
function projectRelative(text: string, dir: string): string {
  if (!isAbsolute(text) || !(text === dir || text.startsWith(dir + sep))) return text;
  return relative(dir, text).split(sep).join("/");
}

export function sqlDigest(sql: string): string {
  return `sha256:${createHash("sha256").update(sql, "utf8").digest("hex")}`;
}
