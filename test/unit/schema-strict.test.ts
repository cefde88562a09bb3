import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures.js";

const SCHEMA_DIR = join(REPO_ROOT, "schema");
const files = readdirSync(SCHEMA_DIR).filter((name) => name.endsWith(".schema.json")).sort();
const schemas = files.map((name) => ({ name, schema: JSON.parse(readFileSync(join(SCHEMA_DIR, name), "utf8")) as { $id: string } }));

/**
 * Ajv with every strict-mode restriction an error (strictRequired and strictTypes
 * included), every schema registered so that cross-schema references resolve by $id.
 * `errorMessage` is the one annotation keyword coho.schema.json uses (ajv-errors and
 * yaml-language-server read it): declared, as the runtime validator declares it.
 */
function strictAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true, logger: false });
  ajv.addKeyword({ keyword: "errorMessage", schemaType: "string" });
  for (const { schema } of schemas) ajv.addSchema(schema);
  return ajv;
}

/** Every `$ref` of a schema document, with its JSON path. */
function refs(node: unknown, path = "#"): { path: string; ref: string }[] {
  if (Array.isArray(node)) return node.flatMap((item, index) => refs(item, `${path}/${index}`));
  if (typeof node !== "object" || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => (key === "$ref" && typeof value === "string" ? [{ path, ref: value }] : refs(value, `${path}/${key}`)));
}

describe("the JSON schemas shipped in schema/", () => {
  it("there are schemas to check, each with an $id under https://coho.dev/schema/ named after its file", () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const { name, schema } of schemas) expect(schema.$id).toBe(`https://coho.dev/schema/${name}`);
  });

  it.each(files)("%s compiles with Ajv in strict mode (every restriction an error)", (name) => {
    const ajv = strictAjv();
    const { schema } = schemas.find((s) => s.name === name)!;
    expect(() => ajv.getSchema(schema.$id)).not.toThrow();
    expect(ajv.getSchema(schema.$id)).toBeTypeOf("function");
  });

  it("a reference to another schema names that schema's $id exactly (resolvable without knowing file names)", () => {
    const ids = new Set(schemas.map((s) => s.schema.$id));
    const external = schemas.flatMap(({ name, schema }) => refs(schema).filter((r) => !r.ref.startsWith("#")).map((r) => ({ name, ...r })));
    expect(external.length).toBeGreaterThan(0);
    for (const { name, path, ref } of external) expect(ids.has(ref), `${name} ${path}: ${ref}`).toBe(true);
  });
});
