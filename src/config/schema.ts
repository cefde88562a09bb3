import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Ajv, ErrorObject, ValidateFunction } from "ajv";

/** schema/coho.schema.json, shipped in the package beside dist/. */
export const SCHEMA_PATH = fileURLToPath(new URL("../../schema/coho.schema.json", import.meta.url));

/** Written by `npm run build` (write-validator.ts) next to the compiled loader. */
export const GENERATED_VALIDATOR = "schema-validator.generated.cjs";

let compiled: ValidateFunction | undefined;

/**
 * The config validator. The build precompiles it (ajv standalone code), which
 * loads in ~5 ms instead of ~150 ms of compiling at every start; without the
 * generated file (tests run from src/) it is compiled here, from the same options.
 */
export function configValidator(): ValidateFunction {
  if (compiled) return compiled;
  try {
    const loaded = createRequire(import.meta.url)(`./${GENERATED_VALIDATOR}`) as ValidateFunction | { default: ValidateFunction };
    compiled = typeof loaded === "function" ? loaded : loaded.default;
  } catch {
    compiled = newAjv().compile(readSchema());
  }
  return compiled;
}

export function readSchema(): object {
  return JSON.parse(readFileSync(SCHEMA_PATH, "utf8")) as object;
}

/**
 * The validator options, shared by the runtime and the build. `errorMessage` is an
 * annotation (also understood by yaml-language-server): the message shown when the
 * schema node it sits on fails.
 */
export function newAjv(source = false): Ajv {
  // Loaded only here: a built coho validates with the precompiled code and never loads ajv.
  const { Ajv: AjvClass } = createRequire(import.meta.url)("ajv") as typeof import("ajv");
  const ajv = new AjvClass({ allErrors: true, verbose: true, strict: true, strictRequired: false, ...(source ? { code: { source: true, esm: false } } : {}) });
  ajv.addKeyword({ keyword: "errorMessage", schemaType: "string" });
  return ajv;
}

export type SchemaError = ErrorObject;
