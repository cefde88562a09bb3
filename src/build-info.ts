import { readFileSync } from "node:fs";
import { COHO_VERSION } from "./version.js";

/** What `coho version --json` reports: enough to reproduce a run or file a bug. */
export interface BuildInfo {
  readonly version: string;
  /** The git commit coho was built from, when the build had one. */
  readonly commit: string | undefined;
  readonly builtAt: string | undefined;
  readonly node: string;
  readonly platform: string;
  readonly duckdb: string | undefined;
}

/** Written by `npm run build` (write-build-info.ts) beside dist/. */
export const BUILD_INFO_FILE = "build-info.json";

export function buildInfo(): BuildInfo {
  let recorded: { commit?: string; builtAt?: string; duckdb?: string } = {};
  try {
    recorded = JSON.parse(readFileSync(new URL(`./${BUILD_INFO_FILE}`, import.meta.url), "utf8")) as typeof recorded;
  } catch {
    // a build without the file (tsc alone): report what is known
  }
  return {
    version: COHO_VERSION,
    commit: recorded.commit,
    builtAt: recorded.builtAt,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    duckdb: recorded.duckdb,
  };
}
