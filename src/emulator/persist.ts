import { existsSync, readFileSync } from "node:fs";
import { parseMemberKey, type BrazeIdentifier } from "../model/member-key.js";
import { CohoError } from "../model/errors.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { MemberSet } from "./member-set.js";
import type { Workspace } from "./workspace.js";

/** A member as Braze spells an identifier: never a joined string (see MemberSet). */
type StoredMember = { external_id: string } | { user_alias: { alias_label: string; alias_name: string } } | { device_id: string };

interface StateFile {
  format: "coho-emulator-state";
  /** 1: members as display keys (ambiguous for labels with ':'), still read; 2: structured. */
  version: 1 | 2;
  cohorts: Record<string, { name: string | null; created_at: string | null; members: (StoredMember | string)[] }>;
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
  if (data.format !== "coho-emulator-state" || (data.version !== 1 && data.version !== 2)) {
    throw new CohoError("emulator.state_corrupt", `${path} is not an emulator state file of version 1 or 2`);
  }
  for (const [id, cohort] of Object.entries(data.cohorts)) {
    const members = cohort.members.map((m) => fromStored(m));
    if (members.some((m) => m === undefined)) throw new CohoError("emulator.state_corrupt", `${path}: cohort ${id} has a member that is not a Braze identifier`);
    workspace.cohorts.set(id, { name: cohort.name, createdAt: cohort.created_at, members: new MemberSet(members as BrazeIdentifier[]) });
  }
  for (const [key, attributes] of Object.entries(data.users?.attributes ?? {})) workspace.profiles.attributes.set(key, attributes);
  for (const key of data.users?.deleted ?? []) workspace.profiles.deleted.add(key);
  for (const key of data.users?.created ?? []) workspace.profiles.created.add(key);
}

export function saveEmulatorState(path: string, workspace: Workspace): void {
  const cohorts: StateFile["cohorts"] = {};
  for (const [id, cohort] of [...workspace.cohorts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const members = cohort.members.identifiers().map(toStored).sort((a, b) => compare(JSON.stringify(a), JSON.stringify(b)));
    cohorts[id] = { name: cohort.name, created_at: cohort.createdAt, members };
  }
  const { profiles } = workspace;
  const users = {
    attributes: Object.fromEntries([...profiles.attributes].sort(([a], [b]) => compare(a, b))),
    deleted: [...profiles.deleted].sort(),
    created: [...profiles.created].sort(),
  };
  const data: StateFile = { format: "coho-emulator-state", version: 2, cohorts, users };
  writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`);
}

function toStored(identifier: BrazeIdentifier): StoredMember {
  switch (identifier.kind) {
    case "external_id":
      return { external_id: identifier.id };
    case "alias":
      return { user_alias: { alias_label: identifier.label, alias_name: identifier.name } };
    case "device_id":
      return { device_id: identifier.id };
  }
}

function fromStored(member: StoredMember | string): BrazeIdentifier | undefined {
  if (typeof member === "string") return parseMemberKey(member);
  if (typeof member !== "object" || member === null) return undefined;
  if ("external_id" in member && typeof member.external_id === "string") return { kind: "external_id", id: member.external_id };
  if ("device_id" in member && typeof member.device_id === "string") return { kind: "device_id", id: member.device_id };
  if ("user_alias" in member) {
    const { alias_label: label, alias_name: name } = member.user_alias ?? {};
    if (typeof label === "string" && typeof name === "string") return { kind: "alias", label, name };
  }
  return undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
