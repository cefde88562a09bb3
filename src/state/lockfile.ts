import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Ajv, ValidateFunction } from "ajv";
import { fileURLToPath } from "node:url";
import { CohoError } from "../model/errors.js";
import type { LockfileDoc, StateView } from "../model/state.js";
import { EMPTY_STATE } from "../model/state.js";
import { LineCounter, parseDocument } from "yaml";
import { locate } from "../config/locate.js";
import type { SourceLocation } from "../model/diagnostic.js";
import { canonicalJson } from "./canonical-json.js";
import { memberCountProblems, snapshotPathProblems } from "./lockfile-checks.js";

export const LOCKFILE_NAME = "coho.lock";
export const LOCKFILE_VERSION = 1;

const schemaPath = fileURLToPath(new URL("../../schema/coho-lock.schema.json", import.meta.url));
/** Written by `npm run build` beside this module (see config/write-validator.ts). */
export const GENERATED_LOCKFILE_VALIDATOR = "lockfile-validator.generated.cjs";
let validate: ValidateFunction | undefined;

export function readLockfileSchema(): object {
  return JSON.parse(readFileSync(schemaPath, "utf8")) as object;
}

export function lockfileAjv(source = false): Ajv {
  // Loaded only here: a built coho uses the precompiled validator and never loads ajv.
  const { Ajv: AjvClass } = createRequire(import.meta.url)("ajv") as typeof import("ajv");
  return new AjvClass({ allErrors: false, strict: false, ...(source ? { code: { source: true, esm: false } } : {}) });
}

/** The precompiled validator when built, else compiled here (tests run from src/). */
function lockfileValidator(): ValidateFunction {
  if (validate) return validate;
  try {
    const loaded = createRequire(import.meta.url)(`./${GENERATED_LOCKFILE_VALIDATOR}`) as ValidateFunction | { default: ValidateFunction };
    validate = typeof loaded === "function" ? loaded : loaded.default;
  } catch {
    validate = lockfileAjv().compile(readLockfileSchema());
  }
  return validate;
}

/**
 * Reads coho.lock. A missing file is the empty state; anything unreadable is one
 * clear error that says how to recover, and nothing is changed.
 */
export function readLockfile(path: string, options: { snapshotsIn?: { projectDir: string; stateDir: string; heldElsewhere?: (snapshot: string) => boolean } } = {}): StateView {
  if (!existsSync(path)) return EMPTY_STATE;
  const text = readFileSync(path, "utf8");
  const recover = "restore it from git (git checkout -- coho.lock) or from .coho/coho.lock.backup";
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new CohoError("state.lockfile_corrupt", `${LOCKFILE_NAME} is not valid JSON (${detail}): it may be truncated or edited by hand`, {
      location: { file: path, line: 1, column: 1 },
      hint: recover,
    });
  }
  const doc = data as { format?: unknown; version?: unknown };
  if (typeof data !== "object" || data === null || doc.format !== "coho-lock") {
    throw new CohoError("state.lockfile_corrupt", `${LOCKFILE_NAME} is not a coho lockfile (format is not "coho-lock")`, {
      location: { file: path, line: 1, column: 1 },
      hint: recover,
    });
  }
  if (typeof doc.version === "number" && doc.version > LOCKFILE_VERSION) {
    throw new CohoError("state.lockfile_future", `${LOCKFILE_NAME} has format version ${doc.version}, written by a newer coho; this coho reads version ${LOCKFILE_VERSION}`, {
      location: { file: path, line: 1, column: 1 },
      hint: "upgrade coho (npm install coho@latest)",
    });
  }
  const check = lockfileValidator();
  if (!check(data)) {
    const first = check.errors?.[0];
    const location = locateInJson(path, text, (first?.instancePath ?? "").split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")));
    throw new CohoError("state.lockfile_corrupt", `${LOCKFILE_NAME} is damaged: ${first?.instancePath || "(top level)"} ${first?.message ?? "is invalid"} (line ${location.line}, column ${location.column})`, {
      location,
      hint: recover,
    });
  }
  const doc_ = data as LockfileDoc;
  const problems = [...memberCountProblems(doc_), ...(options.snapshotsIn ? snapshotPathProblems(doc_, options.snapshotsIn.projectDir, options.snapshotsIn.stateDir, options.snapshotsIn.heldElsewhere) : [])];
  const problem = problems[0];
  if (problem) {
    const location = locateInJson(path, text, problem.path);
    throw new CohoError("state.lockfile_edited", `${LOCKFILE_NAME}:${location.line}:${location.column}: ${problem.message}`, { location, hint: recover });
  }
  return doc_;
}

/** Line and column of a data path in a JSON text (JSON is YAML, whose parser keeps positions). */
function locateInJson(path: string, text: string, dataPath: readonly string[]): SourceLocation {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  return locate({ path, text, doc, lines }, dataPath);
}

/** The exact bytes of a lockfile: canonical JSON. */
export function serializeLockfile(doc: LockfileDoc): string {
  return canonicalJson(doc);
}
