import type { DbtNode, DbtSource } from "./manifest.js";

/**
 * The relation a dbt node was built as, quoted for the coho source that reads
 * it. dbt's `relation_name` is authoritative (adapters render it from database,
 * schema and alias with their own quoting); database/schema/alias are used only
 * when it is absent.
 *
 * A DuckDB source is the very file dbt-duckdb built, attached under a catalog
 * name of coho's choosing, so the database part (dbt's name for that file) is
 * dropped and the relation is read as schema.name inside the source's catalog.
 */
export function relationFor(node: DbtNode | DbtSource, sourceType: string): string {
  // dbt-bigquery writes `project`.`dataset`.`name`, which the parser below does not read: its parts are used.
  const parts = (node.relationName !== null && sourceType !== "bigquery" ? parseRelationName(node.relationName) : undefined) ?? structuredParts(node);
  const used = sourceType === "duckdb" && parts.length === 3 ? parts.slice(1) : parts;
  return used.map(sourceType === "bigquery" ? quoteBigQuery : quoteIdent).join(".");
}

function structuredParts(node: DbtNode | DbtSource): string[] {
  return [node.database, node.schema, node.identifier ?? node.name].filter((p): p is string => p !== null && p !== "");
}

/**
 * Splits `"db"."schema"."name"` (or unquoted `db.schema.name`, as adapters write
 * with quoting off) into its parts; undefined when the text is not such a name.
 */
export function parseRelationName(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let part = "";
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i++];
      }
      parts.push(part);
    } else {
      const match = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i));
      if (!match) return undefined;
      // Unquoted names are folded by the database (PostgreSQL to lower case;
      // DuckDB matches without case), so the folded text, quoted, means the same.
      parts.push(match[0].toLowerCase());
      i += match[0].length;
    }
    if (i === text.length) break;
    if (text[i] !== ".") return undefined;
    i++;
  }
  return parts.length >= 1 && parts.length <= 3 ? parts : undefined;
}

/** BigQuery quotes names in backticks (a backslash escapes one inside). */
function quoteBigQuery(part: string): string {
  return `\`${part.replace(/[`\\]/g, "\\$&")}\``;
}

/** Quoted parts keep their exact case. */
function quoteIdent(part: string): string {
  return `"${part.replace(/"/g, '""')}"`;
}
