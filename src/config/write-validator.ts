/**
 * Build step (`npm run build`): precompiles schema/coho.schema.json into
 * dist/config/schema-validator.generated.cjs, and schema/coho-lock.schema.json
 * into dist/state/lockfile-validator.generated.cjs, with ajv's standalone code,
 * so that coho never compiles a schema at run time.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import standalone from "ajv/dist/standalone/index.js";
import { GENERATED_LOCKFILE_VALIDATOR, lockfileAjv, readLockfileSchema } from "../state/lockfile.js";
import { GENERATED_VALIDATOR, newAjv, readSchema } from "./schema.js";

const ajv = newAjv(true);
writeFileSync(fileURLToPath(new URL(`./${GENERATED_VALIDATOR}`, import.meta.url)), standalone.default(ajv, ajv.compile(readSchema())));
const lockAjv = lockfileAjv(true);
writeFileSync(
  fileURLToPath(new URL(`../state/${GENERATED_LOCKFILE_VALIDATOR}`, import.meta.url)),
  standalone.default(lockAjv, lockAjv.compile(readLockfileSchema())),
);
