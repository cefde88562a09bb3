import { existsSync, readFileSync } from "node:fs";
import { CohoError } from "../model/errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import type { Workspace } from "./workspace.js";

interface StateFile {
  format: "coho-emulator-state";
  version: 1;
  cohorts: Record<string, { name: string | null; created_at: string | null; members: string[] }>;
  /** The /users/track road: custom attributes per user key, and users deleted or created. */
  users?: { attributes: Record<string, Record<string, unknown>>; deleted: string[]; created: string[] };
}

/** Loads cohorts saved by an earlier run (--state FILE); a missing file is an empty workspace. */
export function loadEmulatorState(path: string, workspace: Workspace): void {
  if (!existsSync(path)) return;
  let data: StateFile;
  try {
    data = JSON.parse(readFileSync(path, "utf8")) as StateFile;
  } catch {
    throw new CohoError("emulator.state_corrupt", `${path} is not a readable emulator state file`, {
      hint: "delete it to start with an empty workspace",
    });
  }
  if (data.format !== "coho-emulator-state" || data.version !== 1) {
    throw new CohoError("emulator.state_corrupt", `${path} is not an emulator state file of version 1`);
  }
  for (const [id, cohort] of Object.entries(data.cohorts)) {
    workspace.cohorts.set(id, { name: cohort.name, createdAt: cohort.created_at, members: new Set(cohort.members) });
  }
  for (const [key, attributes] of Object.entries(data.users?.attributes ?? {})) workspace.profiles.attributes.set(key, attributes);
  for (const key of data.users?.deleted ?? []) workspace.profiles.deleted.add(key);
  for (const key of data.users?.created ?? []) workspace.profiles.created.add(key);
}

export function saveEmulatorState(path: string, workspace: Workspace): void {
  const cohorts: StateFile["cohorts"] = {};
  for (const [id, cohort] of [...workspace.cohorts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    cohorts[id] = { name: cohort.name, created_at: cohort.createdAt, members: [...cohort.members].sort() };
  }
  const { profiles } = workspace;
  const users = {
    attributes: Object.fromEntries([...profiles.attributes].sort(([a], [b]) => (a < b ? -1 : 1))),
    deleted: [...profiles.deleted].sort(),
    created: [...profiles.created].sort(),
  };
  const data: StateFile = { format: "coho-emulator-state", version: 1, cohorts, users };
  writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`);
}
