import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";

/** schema/coho.schema.json, shipped in the package beside dist/. */
export const SCHEMA_PATH = fileURLToPath(new URL("../../schema/coho.schema.json", import.meta.url));

let compiled: ValidateFunction | undefined;

/** The compiled config schema (compiled once per process). */
export function configValidator(): ValidateFunction {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as object;
  // `errorMessage` is an annotation (also understood by yaml-language-server):
  // the message shown when the schema node it sits on fails.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false });
  ajv.addKeyword({ keyword: "errorMessage", schemaType: "string" });
  compiled = ajv.compile(schema);
  return compiled;
}

export type SchemaError = ErrorObject;
