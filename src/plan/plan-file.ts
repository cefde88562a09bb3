import { refuseNonRegularTarget, removeTemp } from "../util/output-target.js";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, renameSync } from "node:fs";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { createGunzip, createGzip } from "node:zlib";
import { basename, dirname, join } from "node:path";
import { CohoError } from "../model/errors.js";
import type { Plan } from "../model/plan.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { fsyncFile } from "../util/atomic-write.js";

/**
 * A saved plan (`coho plan --out FILE`): gzip-compressed JSON lines. Line 1 is the
 * header with the plan (state lineage and serial, config digest, coho version);
 * then the exact member deltas, `{"address","op":"add"|"remove","keys":[…]}`, in
 * chunks; last, a trailer `{"t":"digest","sha256":…}` over the uncompressed bytes
 * of every line before it. Apply checks the trailer before it journals or sends
 * anything, so an edited header or delta is refused, not sent. (An integrity
 * check against edits and damage, not a signature: whoever can write the file
 * could recompute it.)
 */
export const PLAN_FILE_FORMAT = "coho-plan-file";

interface Header {
  readonly format: typeof PLAN_FILE_FORMAT;
  readonly version: 1;
  readonly plan: Plan;
}

export interface DeltaChunk {
  readonly address: string;
  readonly op: "add" | "remove";
  readonly keys: readonly string[];
}

export async function writePlanFile(path: string, plan: Plan, engine: DuckDbEngine, deltas: ReadonlyMap<string, { addTable: string; removeTable: string }>): Promise<void> {
  const hash = createHash("sha256");
  async function* lines(): AsyncGenerator<string> {
    const header: Header = { format: PLAN_FILE_FORMAT, version: 1, plan };
    const hashed = (line: string) => {
      hash.update(line, "utf8");
      return line;
    };
    yield hashed(`${JSON.stringify(header)}\n`);
    for (const [address, delta] of deltas) {
      for (const [op, table] of [["add", delta.addTable], ["remove", delta.removeTable]] as const) {
        for await (const keys of engine.keys(table)) yield hashed(`${JSON.stringify({ address, op, keys })}\n`);
      }
    }
    yield `${JSON.stringify({ t: "digest", sha256: hash.digest("hex") })}\n`;
  }
  refuseNonRegularTarget(path, "--out");
  // Hidden beside the target, and removed on every failure: it holds member identifiers.
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(temp, { flags: "wx" }));
    fsyncFile(temp);
    renameSync(temp, path);
  } catch (error) {
    removeTemp(temp);
    throw error;
  }
}

/** The plan of a saved plan file, without reading its deltas. */
export async function readPlanHeader(path: string): Promise<Plan> {
  for await (const line of planLines(path)) {
    let header: Header;
    try {
      header = JSON.parse(line) as Header;
    } catch {
      break;
    }
    if (header.format !== PLAN_FILE_FORMAT) break;
    if (header.version !== 1) throw new CohoError("plan.file_version", `${path} is a plan file of version ${header.version}; this coho reads version 1`);
    return header.plan;
  }
  throw new CohoError("plan.file_invalid", `${path} is not a coho plan file (expected one written by coho plan --out)`);
}

/** Every delta chunk of a saved plan file, in order (its digest checked by verifyPlanFile). */
export async function* readPlanDeltas(path: string): AsyncGenerator<DeltaChunk> {
  let first = true;
  for await (const line of planLines(path)) {
    if (first) {
      first = false;
      continue;
    }
    if (line.startsWith(TRAILER_START)) return;
    yield JSON.parse(line) as DeltaChunk;
  }
}

const TRAILER_START = '{"t":"digest"';

/**
 * Checks the file's trailer digest against its content: refused when the
 * trailer is missing (a truncated file, or one from an older coho) or differs
 * (edited after coho wrote it). Streams the file once; nothing else is read.
 */
export async function verifyPlanFile(path: string): Promise<void> {
  const hash = createHash("sha256");
  let trailer: string | undefined;
  const remake = "make a new plan with coho plan --out FILE and review it";
  for await (const line of planLines(path)) {
    if (trailer !== undefined) throw new CohoError("plan.file_modified", `${path} was modified after coho plan wrote it: lines follow its digest`, { hint: remake });
    if (line.startsWith(TRAILER_START)) trailer = line;
    else hash.update(`${line}\n`, "utf8");
  }
  if (trailer === undefined) throw new CohoError("plan.file_incomplete", `${path} has no digest: it is truncated, or was written by an older coho`, { hint: remake });
  let expected: unknown;
  try {
    expected = (JSON.parse(trailer) as { sha256?: unknown }).sha256;
  } catch {
    expected = undefined;
  }
  if (expected !== hash.digest("hex")) {
    throw new CohoError("plan.file_modified", `${path} was modified after coho plan wrote it: its digest does not match its content`, { hint: remake });
  }
}

async function* planLines(path: string): AsyncGenerator<string> {
  if (!existsSync(path)) throw new CohoError("plan.file_missing", `plan file not found: ${path}`);
  const file = createReadStream(path);
  const input = createGunzip();
  // pipe() does not forward errors: a read error must end the gunzip stream, not the process.
  file.on("error", (error) => input.destroy(error));
  file.pipe(input);
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (line !== "") yield line;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CohoError("plan.file_missing", `plan file not found: ${path}`);
    throw new CohoError("plan.file_invalid", `${path} is not a readable coho plan file (${(error as Error).message})`);
  } finally {
    lines.close();
    input.destroy();
    file.destroy();
  }
}
