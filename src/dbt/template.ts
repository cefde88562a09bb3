import type { DbtManifest, DbtNode, DbtSource } from "./manifest.js";
import { relationFor } from "./relation.js";
import { resolveRef, resolveSource, type RefProblem } from "./resolve.js";

/** A dbt node a model reads, by ref() or source() in its SQL or by `dbt:`. */
export type DbtDependency =
  | { readonly kind: "ref"; readonly node: DbtNode; readonly relation: string }
  | { readonly kind: "source"; readonly node: DbtSource; readonly relation: string };

export interface TemplateProblem {
  readonly code: RefProblem["code"] | "dbt.not_jinja" | "dbt.no_manifest";
  readonly message: string;
  /** Character offset of the `{{` (or `{%`, `{#`) in the SQL text. */
  readonly offset: number;
  readonly length: number;
}

export interface ResolvedTemplate {
  readonly sql: string;
  readonly dependencies: readonly DbtDependency[];
  readonly problems: readonly TemplateProblem[];
}

const TAG = /\{\{([\s\S]*?)\}\}|\{%[\s\S]*?(?:%\}|$)|\{#[\s\S]*?(?:#\}|$)/g;
const STRING = String.raw`\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*`;
const CALL = new RegExp(String.raw`^\s*(ref|source)\s*\(${STRING}(?:,${STRING})?\)\s*$`);

/** True when SQL holds anything that looks like Jinja: only then is a manifest needed. */
export function hasTemplate(sql: string): boolean {
  return /\{\{|\{%|\{#/.test(sql);
}

/**
 * Replaces `{{ ref('name') }}`, `{{ ref('package', 'name') }}` and
 * `{{ source('source_name', 'table') }}` with quoted relation names from the
 * manifest. coho is not a Jinja engine: any other `{{ }}`, and every `{% %}` or
 * `{# #}`, is a problem at its position, never passed to the database.
 */
export function resolveTemplate(sql: string, manifest: DbtManifest | undefined, sourceType: string): ResolvedTemplate {
  const dependencies: DbtDependency[] = [];
  const problems: TemplateProblem[] = [];
  const out = sql.replace(TAG, (whole: string, inner: string | undefined, offset: number) => {
    const problem = (code: TemplateProblem["code"], message: string) => {
      problems.push({ code, message, offset, length: Math.min(whole.length, whole.indexOf("\n") < 0 ? whole.length : whole.indexOf("\n")) });
      return whole;
    };
    const call = inner === undefined ? null : CALL.exec(inner);
    if (!call) {
      return problem("dbt.not_jinja", `\`${firstLine(whole)}\`: coho is not a Jinja engine; in SQL it resolves only {{ ref('model') }}, {{ ref('package', 'model') }} and {{ source('source', 'table') }}`);
    }
    const [, fn, a1, a2, b1, b2] = call;
    const first = a1 ?? a2 ?? "";
    const second = b1 ?? b2;
    if (!manifest) return problem("dbt.no_manifest", `\`${firstLine(whole)}\` needs a dbt manifest: add \`dbt: { manifest: target/manifest.json }\` to coho.yaml`);
    if (fn === "source") {
      if (second === undefined) return problem("dbt.not_jinja", `\`${firstLine(whole)}\`: source() takes two arguments, source('source_name', 'table')`);
      const resolved = resolveSource(manifest, first, second);
      if ("problem" in resolved) return problem(resolved.problem.code, resolved.problem.message);
      const relation = relationFor(resolved.node, sourceType);
      dependencies.push({ kind: "source", node: resolved.node, relation });
      return relation;
    }
    const resolved = second === undefined ? resolveRef(manifest, first) : resolveRef(manifest, second, first);
    if ("problem" in resolved) return problem(resolved.problem.code, resolved.problem.message);
    const relation = relationFor(resolved.node, sourceType);
    dependencies.push({ kind: "ref", node: resolved.node, relation });
    return relation;
  });
  return { sql: out, dependencies, problems };
}

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? text;
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}
