import type { MemberKey } from "../../model/member-key.js";
import type { ReadBackValue } from "../destination.js";
import { identifierFields } from "./attributes-body.js";

/** Braze's cap on ids per /users/export/ids request. */
export const EXPORT_IDS_PER_REQUEST = 50;

/** Braze's /users/export/ids rate limit for workspaces onboarded since 2024-08-22 (2,500 before): what time estimates assume. */
export const EXPORT_REQUESTS_PER_MINUTE = 250;

interface ExportedUser {
  external_id?: string;
  user_aliases?: { alias_name?: string; alias_label?: string }[];
  custom_attributes?: Record<string, unknown>;
}

/**
 * Reads one custom attribute of `keys` back through /users/export/ids, at most 50
 * ids per request, one request at a time (its rate limit is low). A member Braze
 * does not return is `absent` (deleted, or never created). `attribute` undefined:
 * existence only (the smallest export). `external_id` and `user_aliases` are
 * always asked for: Braze exports only the fields named, and they tell whom a
 * returned user is.
 */
export async function readBackAttributes(
  attribute: string | undefined,
  keys: readonly MemberKey[],
  post: (body: string, count: number) => Promise<string>,
): Promise<Map<MemberKey, ReadBackValue>> {
  const result = new Map<MemberKey, ReadBackValue>();
  for (let start = 0; start < keys.length; start += EXPORT_IDS_PER_REQUEST) {
    const chunk = keys.slice(start, start + EXPORT_IDS_PER_REQUEST);
    const externalIds: string[] = [];
    const aliases: unknown[] = [];
    for (const key of chunk) {
      const fields = identifierFields(key);
      if (typeof fields.external_id === "string") externalIds.push(fields.external_id);
      else aliases.push(fields.user_alias);
    }
    const body = JSON.stringify({
      ...(externalIds.length > 0 ? { external_ids: externalIds } : {}),
      ...(aliases.length > 0 ? { user_aliases: aliases } : {}),
      fields_to_export: ["external_id", "user_aliases", ...(attribute === undefined ? [] : ["custom_attributes"])],
    });
    const found = new Map<MemberKey, ReadBackValue>();
    for (const user of parseUsers(await post(body, chunk.length))) {
      const value: ReadBackValue = { kind: "value", value: attribute === undefined ? null : (user.custom_attributes?.[attribute] ?? null) };
      if (user.external_id !== undefined) found.set(`external_id:${user.external_id}`, value);
      for (const alias of user.user_aliases ?? []) found.set(`alias:${alias.alias_label}:${alias.alias_name}`, value);
    }
    for (const key of chunk) result.set(key, found.get(key) ?? { kind: "absent" });
  }
  return result;
}

function parseUsers(body: string): ExportedUser[] {
  try {
    const parsed = JSON.parse(body) as { users?: unknown };
    return Array.isArray(parsed.users) ? (parsed.users as ExportedUser[]) : [];
  } catch {
    return [];
  }
}

