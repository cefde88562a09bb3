import { isAbsolute, relative, resolve, sep } from "node:path";
import type { LockfileDoc } from "../model/state.js";

/** One thing wrong in a lockfile document, at a data path (e.g. cohorts / cohorts.a / members / count). */
export interface LockfileProblem {
  readonly path: readonly string[];
  readonly message: string;
}

/**
 * Consistency the schema cannot express: the member count must be the count the
 * digest was computed over (`v1:<count>:…`), so a hand-edited count is caught
 * before any plan trusts it.
 */
export function memberCountProblems(doc: LockfileDoc): LockfileProblem[] {
  const problems: LockfileProblem[] = [];
  for (const [address, entry] of Object.entries(doc.cohorts)) {
    const digestCount = Number(entry.members.digest.split(":")[1]);
    if (digestCount !== entry.members.count) {
      problems.push({
        path: ["cohorts", address, "members", "count"],
        message: `${address}: members.count is ${entry.members.count} but its digest was computed over ${digestCount} members: the lockfile was edited by hand`,
      });
    }
  }
  return problems;
}

/**
 * Local snapshots live in `.coho/` and nowhere else: a snapshot path that leads
 * outside it (absolute, `..`, another folder) is refused, so an edited lockfile
 * cannot make coho read, or prune beside, files elsewhere.
 */
export function snapshotPathProblems(doc: LockfileDoc, projectDir: string, stateDir: string, heldElsewhere?: (snapshot: string) => boolean): LockfileProblem[] {
  const problems: LockfileProblem[] = [];
  for (const [address, entry] of Object.entries(doc.cohorts)) {
    if (heldElsewhere?.(entry.snapshot)) continue; // a warehouse's snapshot id, not a path
    const inside = relative(stateDir, resolve(projectDir, entry.snapshot));
    if (isAbsolute(entry.snapshot) || inside === "" || inside.startsWith(`..${sep}`) || inside === ".." || isAbsolute(inside)) {
      problems.push({ path: ["cohorts", address, "snapshot"], message: `${address}: snapshot ${JSON.stringify(entry.snapshot)} is outside .coho/: snapshots are only read from the project's .coho/ folder` });
    }
  }
  return problems;
}
