import { memberKey, type BrazeIdentifier, type MemberKey } from "../model/member-key.js";
import { isArrayOperation, objectIdentifier } from "./profiles.js";
import type { Workspace } from "./workspace.js";

export interface RestCredentials {
  /** A REST API key with users.track and users.export.ids. */
  readonly restApiKey: string;
  /** A valid REST API key without those permissions: answered 403. */
  readonly restApiKeyNoPermission: string;
}

export interface UsersAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly details: { identifiers?: number; attributes?: unknown[]; message?: string };
  readonly changed: boolean;
}

type Permission = "users.track" | "users.export.ids";

/** Keys of an attributes object that are no custom attribute: the identifiers and the update flag. */
const NOT_ATTRIBUTES: ReadonlySet<string> = new Set(["external_id", "user_alias", "braze_id", "email", "phone", "_update_existing_only"]);

/** Bearer auth as Braze answers it: 401 for an unknown key, 403 for a key without the permission. Never echoes the key. */
export function authorize(header: string | undefined, credentials: RestCredentials, permission: Permission): UsersAnswer | undefined {
  const key = /^Bearer (.+)$/.exec(header ?? "")?.[1];
  if (key === credentials.restApiKey) return undefined;
  if (key === credentials.restApiKeyNoPermission) return fail(403, `Forbidden: this API key does not have the ${permission} permission`);
  return fail(401, "Invalid API key");
}

/**
 * POST /users/track, attributes only: the batch limit (400 beyond it), one
 * identifier per object, `_update_existing_only`, null / boolean / array add and
 * remove, the array cap, non-fatal `errors` by index (201), and Braze's rule that
 * one invalid nested value drops every nested update of the request.
 */
export function handleUsersTrack(workspace: Workspace, body: Record<string, unknown>, batchLimit: number): UsersAnswer {
  const attributes = body.attributes;
  if (!Array.isArray(attributes) || attributes.length === 0) {
    return fail(400, "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.");
  }
  if (attributes.length > batchLimit) return fail(400, `Request contains ${attributes.length} attributes objects; the limit is ${batchLimit}`);
  const errors: { type: string; input_array: "attributes"; index: number }[] = [];
  const writes: { key: MemberKey; name: string; value: unknown; nested: boolean }[] = [];
  let nestedInvalid = false;
  attributes.forEach((raw, index) => {
    const problem = (type: string) => errors.push({ type, input_array: "attributes", index });
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return problem("attributes object must be a JSON object");
    const object = raw as Record<string, unknown>;
    const identifier = objectIdentifier(object);
    if (typeof identifier === "string") return problem(identifier);
    if (workspace.profiles.refused.has(memberKey(identifier))) return problem("Invalid attribute value (refused by the emulator)");
    const updateExistingOnly = object._update_existing_only === true || (identifier.kind === "alias" && object._update_existing_only !== false);
    const user = workspace.user(identifier);
    if (!user.exists && updateExistingOnly) return; // processed: nothing to update
    const fields = Object.entries(object).filter(([k]) => !NOT_ATTRIBUTES.has(k));
    const invalid = fields.find(([, v]) => !validValue(v));
    if (invalid) return problem(`Invalid value for custom attribute ${invalid[0]}`);
    if (!user.exists) {
      workspace.profiles.created.add(user.key);
      workspace.profiles.deleted.delete(user.key);
    }
    for (const [name, value] of fields) {
      const nested = isNested(value);
      if (nested && !validNested(value)) nestedInvalid = true;
      writes.push({ key: user.key, name, value, nested });
    }
  });
  for (const write of writes) if (!(write.nested && nestedInvalid)) workspace.profiles.write(write.key, write.name, write.value);
  const details = { identifiers: attributes.length, attributes };
  if (errors.length === attributes.length) return { status: 400, body: { message: "No valid attributes objects", errors }, details, changed: false };
  const answer = { message: "success", attributes_processed: attributes.length - errors.length, ...(errors.length > 0 ? { errors } : {}) };
  return { status: 201, body: answer, details, changed: writes.length > 0 };
}

/** POST /users/export/ids: up to 50 external ids and 50 aliases; custom attributes of the users that exist. */
export function handleExportIds(workspace: Workspace, body: Record<string, unknown>): UsersAnswer {
  const externalIds = body.external_ids ?? [];
  const aliases = body.user_aliases ?? [];
  if (!Array.isArray(externalIds) || !Array.isArray(aliases)) return fail(400, "external_ids and user_aliases must be arrays");
  if (externalIds.length > 50 || aliases.length > 50) return fail(400, "At most 50 external_ids and 50 user_aliases per request");
  const wanted: BrazeIdentifier[] = [
    ...externalIds.filter((id): id is string => typeof id === "string").map((id) => ({ kind: "external_id" as const, id })),
    ...(aliases as { alias_name?: unknown; alias_label?: unknown }[])
      .filter((a) => typeof a?.alias_name === "string" && typeof a?.alias_label === "string")
      .map((a) => ({ kind: "alias" as const, label: a.alias_label as string, name: a.alias_name as string })),
  ];
  const users = new Map<MemberKey, { external_id?: string; user_aliases: { alias_name: string; alias_label: string }[]; custom_attributes: Record<string, unknown> }>();
  const invalid: string[] = [];
  for (const identifier of wanted) {
    const user = workspace.user(identifier);
    if (!user.exists) {
      invalid.push(identifier.kind === "alias" ? identifier.name : identifier.id);
      continue;
    }
    let entry = users.get(user.key);
    if (!entry) {
      const canonical = user.key.startsWith("external_id:") ? { external_id: user.key.slice("external_id:".length) } : {};
      entry = { ...canonical, user_aliases: [], custom_attributes: structuredClone(workspace.profiles.attributes.get(user.key) ?? {}) };
      users.set(user.key, entry);
    }
    if (identifier.kind === "alias") entry.user_aliases.push({ alias_name: identifier.name, alias_label: identifier.label });
  }
  return { status: 201, body: { message: "success", users: [...users.values()], ...(invalid.length > 0 ? { invalid_user_ids: invalid } : {}) }, details: { identifiers: wanted.length }, changed: false };
}

function fail(status: number, message: string): UsersAnswer {
  return { status, body: { message }, details: { message }, changed: false };
}

function validValue(value: unknown): boolean {
  if (value === null || typeof value === "boolean" || typeof value === "number") return true;
  if (typeof value === "string") return value.length <= 255;
  if (Array.isArray(value)) return value.every((v) => typeof v !== "string" || v.length <= 255);
  if (isArrayOperation(value)) return [...(value.add ?? []), ...(value.remove ?? [])].every((v) => typeof v !== "string" || v.length <= 255);
  return typeof value === "object";
}

/** A nested custom attribute: an object value that is no array operation. */
function isNested(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !isArrayOperation(value);
}

function validNested(value: unknown): boolean {
  if (typeof value === "string") return value.length <= 255;
  if (typeof value === "object" && value !== null) return Object.values(value).every(validNested);
  return true;
}
