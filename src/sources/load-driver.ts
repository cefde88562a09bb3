import { createRequire } from "node:module";
import { CohoError } from "../model/errors.js";

const require = createRequire(import.meta.url);

/**
 * The warehouse drivers coho can use but does not install: each is an optional
 * peer dependency (package.json), installed next to coho by the teams whose
 * warehouse it reaches — as dbt adapters are — so a DuckDB or PostgreSQL project
 * never downloads Snowflake's 120 MB of cloud SDKs. The ranges are the ones coho
 * was tested with (a unit test keeps them equal to package.json's).
 */
export const WAREHOUSE_DRIVERS = {
  "@google-cloud/bigquery": { range: "~8.3.1", for: "bigquery" },
  "google-auth-library": { range: "^10.9.1", for: "bigquery" },
  "snowflake-sdk": { range: "~3.4.1", for: "snowflake" },
} as const;

export type WarehouseDriver = keyof typeof WAREHOUSE_DRIVERS;

/**
 * Loads a driver on first use (CommonJS; createRequire keeps it out of the CLI
 * bundle). Only the driver itself missing becomes `source.driver_missing`; an
 * error inside an installed driver (one of its own dependencies missing) is not
 * disguised as that.
 */
export function loadDriver<T>(name: WarehouseDriver): T {
  try {
    return require(name) as T;
  } catch (error) {
    if (isMissing(error, name)) {
      const { range, for: type } = WAREHOUSE_DRIVERS[name];
      throw new CohoError(
        "source.driver_missing",
        `a source of type ${type} needs the ${name} package, which is not installed next to coho`,
        { hint: `install it where coho is installed: npm install --global "${name}@${range}" (or npm install "${name}@${range}" in the project that depends on coho)` },
      );
    }
    throw error;
  }
}

function isMissing(error: unknown, name: string): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === "MODULE_NOT_FOUND" && typeof e.message === "string" && e.message.includes(`'${name}'`);
}
