import { refuseNonRegularTarget } from "../util/output-target.js";
import { existsSync, readFileSync } from "node:fs";
import { basename, relative } from "node:path";
import { CohoError } from "../model/errors.js";
import type { Project } from "../model/project.js";
import { EXPOSURES_MARKER, buildExposures, renderExposures } from "../dbt/exposures.js";
import { writeFileAtomic } from "../util/atomic-write.js";

export interface DbtExposuresRequest {
  readonly project: Project;
  /** Absolute path to write; undefined: only return the text. */
  readonly out: string | undefined;
  /** Overwrite a file that coho did not write. */
  readonly force: boolean;
}

export interface DbtExposuresResult {
  readonly text: string;
  readonly count: number;
  /** The path written, when `out` was given. */
  readonly written: string | undefined;
}

/**
 * `coho dbt exposures`: a dbt exposures file for the project's cohorts on dbt
 * models. A file at `out` that does not start with coho's marker was written by
 * hand and is kept unless `force`; coho's own file is simply regenerated.
 */
export function dbtExposures(request: DbtExposuresRequest): DbtExposuresResult {
  const { project, out, force } = request;
  const dbt = project.dbt;
  if (!dbt) {
    throw new CohoError("dbt.not_configured", "the project has no `dbt:` setting; add `dbt: { manifest: target/manifest.json, owner: { name: ... } }` to coho.yaml", {
      location: { file: project.configFile, line: 1, column: 1 },
    });
  }
  if (!dbt.owner || (dbt.owner.name === undefined && dbt.owner.email === undefined)) {
    throw new CohoError("dbt.owner_missing", "dbt exposures need an owner (a name or an email): set `dbt.owner` in coho.yaml", {
      location: dbt.origin,
      hint: "dbt: { manifest: ..., owner: { name: Growth team, email: growth@example.com } }",
    });
  }
  const exposures = buildExposures(project);
  const text = renderExposures(exposures, basename(project.configFile));
  if (out === undefined) return { text, count: exposures.length, written: undefined };
  refuseNonRegularTarget(out, "--out");
  if (existsSync(out) && !force && !readFileSync(out, "utf8").startsWith(EXPOSURES_MARKER)) {
    throw new CohoError("dbt.exposures_hand_written", `${relative(project.dir, out) || out} exists and was not written by coho; it is left untouched`, {
      location: { file: out, line: 1, column: 1 },
      hint: "choose another --out file, or pass --force to replace it",
    });
  }
  try {
    writeFileAtomic(out, text);
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new CohoError("dbt.exposures_write", `cannot write ${relative(project.dir, out) || out} (${reason === "ENOENT" ? "its folder does not exist" : reason})`, {
      hint: "write into an existing folder, e.g. the dbt project's models/",
    });
  }
  return { text, count: exposures.length, written: out };
}
