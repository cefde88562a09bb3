/**
 * Build step (`npm run build`): precompiles schema/coho.schema.json into
 * dist/config/schema-validator.generated.cjs with ajv's standalone code, so that
 * coho starts without compiling the schema.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import standalone from "ajv/dist/standalone/index.js";
import { GENERATED_VALIDATOR, newAjv, readSchema } from "./schema.js";

const ajv = newAjv(true);
const code = standalone.default(ajv, ajv.compile(readSchema()));
writeFileSync(fileURLToPath(new URL(`./${GENERATED_VALIDATOR}`, import.meta.url)), code);
