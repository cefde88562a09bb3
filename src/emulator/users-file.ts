import { readFileSync } from "node:fs";
import { CohoError } from "../model/errors.js";
import type { WorkspaceUser } from "./workspace.js";

/**
 * `--users FILE`: the workspace's users, as JSON
 * `{ "users": [ { "external_id": "u1", "aliases": [{ "alias_label": "email", "alias_name": "a@x" }], "device_ids": ["d1"] } ] }`.
 * A user without external_id is anonymous; its device ids can join cohorts.
 */
export function readUsersFile(path: string): WorkspaceUser[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new CohoError("emulator.users_file", `cannot read users file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const users = (data as { users?: unknown }).users;
  if (!Array.isArray(users)) throw new CohoError("emulator.users_file", `${path}: expected an object with a "users" list`);
  return users.map((raw, index) => {
    const u = raw as { external_id?: unknown; aliases?: unknown; device_ids?: unknown };
    const bad = () => new CohoError("emulator.users_file", `${path}: users[${index}] is not a valid user`);
    if (u.external_id !== undefined && typeof u.external_id !== "string") throw bad();
    const aliases = (u.aliases ?? []) as { alias_label?: unknown; alias_name?: unknown }[];
    const deviceIds = (u.device_ids ?? []) as unknown[];
    if (!Array.isArray(aliases) || !Array.isArray(deviceIds) || !deviceIds.every((d) => typeof d === "string")) throw bad();
    return {
      ...(typeof u.external_id === "string" ? { externalId: u.external_id } : {}),
      aliases: aliases.map((a) => {
        if (typeof a.alias_label !== "string" || typeof a.alias_name !== "string") throw bad();
        return { label: a.alias_label, name: a.alias_name };
      }),
      deviceIds: deviceIds as string[],
    };
  });
}
