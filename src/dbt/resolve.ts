import { didYouMean } from "../util/suggest.js";
import type { DbtManifest, DbtNode, DbtSource } from "./manifest.js";

/** A reference that could not be resolved: a stable code and a message for the user. */
export interface RefProblem {
  readonly code: "dbt.model_not_found" | "dbt.model_ambiguous" | "dbt.model_disabled" | "dbt.model_ephemeral" | "dbt.source_not_found";
  readonly message: string;
}

export type Resolved<T> = { readonly node: T } | { readonly problem: RefProblem };

/**
 * Resolves `ref('name')` or `ref('package', 'name')` the way dbt does: only
 * models, seeds and snapshots (never sources, even of the same name); without a
 * package, the root project's node wins, else the name must be unique across
 * packages. A disabled or ephemeral node has no relation to read, and says so.
 */
export function resolveRef(manifest: DbtManifest, name: string, packageName?: string): Resolved<DbtNode> {
  const written = packageName === undefined ? name : `${packageName}.${name}`;
  const matches = manifest.nodes.filter((n) => n.name === name && n.latest && (packageName === undefined || n.packageName === packageName));
  let node: DbtNode | undefined;
  if (matches.length === 1) node = matches[0];
  else if (matches.length > 1) {
    node = matches.find((n) => n.packageName === manifest.projectName);
    if (!node) {
      const options = matches.map((n) => `\`${n.packageName}.${n.name}\``).sort().join(", ");
      return { problem: { code: "dbt.model_ambiguous", message: `dbt model \`${name}\` is defined in several packages (${options}); name one as package.model` } };
    }
  }
  if (!node) {
    const disabled = manifest.disabled.find((n) => n.name === name && (packageName === undefined || n.packageName === packageName));
    if (disabled) {
      return { problem: { code: "dbt.model_disabled", message: `dbt model \`${written}\` (${disabled.uniqueId}) is disabled in dbt (enabled: false), so dbt builds no relation for it` } };
    }
    const names = manifest.nodes.map((n) => (packageName === undefined ? n.name : `${n.packageName}.${n.name}`));
    return { problem: { code: "dbt.model_not_found", message: `no dbt model \`${written}\` in the manifest${didYouMean(written, names)}` } };
  }
  if (node.materialized === "ephemeral") {
    return { problem: { code: "dbt.model_ephemeral", message: `dbt model \`${written}\` (${node.uniqueId}) is ephemeral: dbt inlines it as a CTE and builds no relation coho could read; materialize it as a view or table` } };
  }
  return { node };
}

/** Resolves `source('source_name', 'table')` among the manifest's sources. */
export function resolveSource(manifest: DbtManifest, sourceName: string, table: string): Resolved<DbtSource> {
  const node = manifest.sources.find((s) => s.sourceName === sourceName && s.name === table);
  if (node) return { node };
  const names = manifest.sources.map((s) => `${s.sourceName}.${s.name}`);
  return { problem: { code: "dbt.source_not_found", message: `no dbt source \`${sourceName}.${table}\` in the manifest${didYouMean(`${sourceName}.${table}`, names)}` } };
}

/** `name` or `package.name`, as a `dbt:` model setting may be written. */
export function splitModelName(written: string): { packageName: string | undefined; name: string } {
  const dot = written.indexOf(".");
  return dot < 0 ? { packageName: undefined, name: written } : { packageName: written.slice(0, dot), name: written.slice(dot + 1) };
}
