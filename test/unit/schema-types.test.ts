import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as keys from "../../src/config/config-data.js";
import { SCHEMA_PATH } from "../../src/config/schema.js";

interface SchemaNode {
  properties?: Record<string, unknown>;
  allOf?: { then?: SchemaNode; else?: SchemaNode }[];
  $ref?: string;
  additionalProperties?: unknown;
  description?: string;
  [key: string]: unknown;
}

const schema = JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as SchemaNode & { $defs: Record<string, SchemaNode> };
const def = (name: string): SchemaNode => schema.$defs[name] as SchemaNode;

/** Keys a schema object accepts: its own properties plus those of its if/then branches. */
function schemaKeys(node: SchemaNode, branch?: number): string[] {
  const own = Object.keys(node.properties ?? {});
  const branches = (node.allOf ?? []).filter((_, i) => branch === undefined || i === branch);
  const extra = branches.flatMap((b) => [...Object.keys(b.then?.properties ?? {}), ...Object.keys(b.else?.properties ?? {})]);
  return [...new Set([...own, ...extra])].sort();
}

/** The index of the source schema's if/then branch for one `type`. */
const sourceBranch = (type: string) => (def("source").allOf ?? []).findIndex((b) => JSON.stringify((b as { if?: unknown }).if).includes(`"const":"${type}"`));

const sorted = (record: object) => Object.keys(record).sort();

describe("schema and TypeScript types agree", () => {
  it.each([
    ["top level", schemaKeys(schema), keys.CONFIG_KEYS],
    ["state", schemaKeys(def("state")), keys.STATE_KEYS],
    ["environment", schemaKeys(def("environment")), keys.ENVIRONMENT_KEYS],
    ["dbt", schemaKeys(def("dbt")), keys.DBT_KEYS],
    ["dbt owner", schemaKeys((def("dbt").properties as Record<string, SchemaNode>).owner as SchemaNode), keys.DBT_OWNER_KEYS],
    ["duckdb source", schemaKeys(def("source"), 0), keys.DUCKDB_SOURCE_KEYS],
    ["postgres source", schemaKeys(def("source"), 1), keys.POSTGRES_SOURCE_KEYS],
    ["redshift source", schemaKeys(def("source"), 2), keys.REDSHIFT_SOURCE_KEYS],
    ["state snapshots", schemaKeys(def("state_snapshots")), keys.STATE_SNAPSHOTS_KEYS],
    ["bigquery source", schemaKeys(def("source"), sourceBranch("bigquery")), keys.BIGQUERY_SOURCE_KEYS],
    ["snowflake source", schemaKeys(def("source"), sourceBranch("snowflake")), keys.SNOWFLAKE_SOURCE_KEYS],
    ["destination", schemaKeys(def("destination")), keys.DESTINATION_KEYS],
    ["model", schemaKeys(def("model")), keys.MODEL_KEYS],
    ["identifier", schemaKeys(def("identifier")), keys.IDENTIFIER_KEYS],
    ["cohort", schemaKeys(def("cohort")), keys.COHORT_KEYS],
    ["guards", schemaKeys((def("cohort").properties as Record<string, SchemaNode>).guards as SchemaNode), keys.GUARDS_KEYS],
    ["moved", schemaKeys(def("moved")), keys.MOVED_KEYS],
    ["var", schemaKeys(def("var")), keys.VAR_KEYS],
  ])("%s", (_, fromSchema, fromTypes) => {
    expect(fromSchema).toEqual(sorted(fromTypes));
  });

  it("describes every property, so editors can show help on hover", () => {
    const undocumented: string[] = [];
    const visit = (node: unknown, path: string): void => {
      if (typeof node !== "object" || node === null) return;
      const n = node as SchemaNode;
      for (const [key, child] of Object.entries(n.properties ?? {})) {
        if (child === true) continue; // re-declared in an if/then branch, described at its first declaration
        const c = child as SchemaNode;
        const described = typeof c.description === "string" || (typeof c.$ref === "string" && typeof def(c.$ref.split("/").pop()!).description === "string");
        if (!described) undocumented.push(`${path}.${key}`);
      }
      for (const [key, child] of Object.entries(n)) if (key !== "if") visit(child, `${path}/${key}`);
    };
    visit(schema, "#");
    expect(undocumented).toEqual([]);
  });

  it("rejects unknown keys in every object", () => {
    const open: string[] = [];
    const visit = (node: unknown, path: string): void => {
      if (typeof node !== "object" || node === null) return;
      const n = node as SchemaNode;
      const branchesClose = (n.allOf ?? []).every((b) => b.then?.additionalProperties === false);
      // A branch that only re-declares keys as `true` (a oneOf naming the key it requires, for Ajv's strictRequired) declares nothing new.
      const declares = n.properties !== undefined && Object.values(n.properties).some((child) => child !== true);
      if (declares && n.additionalProperties !== false && !(n.allOf && branchesClose)) open.push(path);
      // `if` schemas only test a discriminator; they declare nothing.
      for (const [key, child] of Object.entries(n)) if (key !== "if") visit(child, `${path}/${key}`);
    };
    visit(schema, "#");
    expect(open).toEqual([]);
  });
});
