import { CohoError } from "../../model/errors.js";
import { parseMemberKey, type MemberKey } from "../../model/member-key.js";
import type { AttributeBinding } from "../../model/project.js";
import type { MergedUser } from "../destination.js";
import { attributeValue } from "./binding.js";

/** How one attributes object names its user: `external_id` or `user_alias` (device ids are no identifier here). */
export function identifierFields(key: MemberKey): Record<string, unknown> {
  const identifier = parseMemberKey(key);
  if (identifier?.kind === "external_id") return { external_id: identifier.id };
  if (identifier?.kind === "alias") return { user_alias: { alias_name: identifier.name, alias_label: identifier.label } };
  throw new CohoError("braze.member_key", `the /users/track road names users by external_id or alias only, not ${JSON.stringify(key.slice(0, 40))}`);
}

/**
 * The `attributes` array of one /users/track request: one object per member,
 * additions first, then removals, so `index` in Braze's `errors` maps back to
 * `[...add, ...remove][index]`.
 */
export function attributeObjects(binding: AttributeBinding, add: readonly MemberKey[], remove: readonly MemberKey[], updateExistingOnly: boolean): Record<string, unknown>[] {
  const object = (key: MemberKey, join: boolean) => ({
    ...identifierFields(key),
    _update_existing_only: updateExistingOnly,
    [binding.name]: attributeValue(binding, join),
  });
  return [...add.map((key) => object(key, true)), ...remove.map((key) => object(key, false))];
}

/**
 * The whole body of one /users/track request, `{"attributes":[…]}`, written as
 * JSON text directly: exactly `JSON.stringify({ attributes: attributeObjects(…) })`
 * (same objects, same key order), without building an object per member. At
 * Braze's 1,000 requests/s × 75 members this is the road's hottest loop: each
 * member costs one string escape, and the per-side tail is rendered once.
 */
export function attributesRequestBody(binding: AttributeBinding, add: readonly MemberKey[], remove: readonly MemberKey[], updateExistingOnly: boolean): string {
  const tail = (join: boolean) => `,"_update_existing_only":${updateExistingOnly},${JSON.stringify(binding.name)}:${JSON.stringify(attributeValue(binding, join))}}`;
  const parts: string[] = [];
  const render = (keys: readonly MemberKey[], end: string) => {
    for (const key of keys) parts.push(`{${identifierText(key)}${end}`);
  };
  render(add, tail(true));
  render(remove, tail(false));
  return `{"attributes":[${parts.join(",")}]}`;
}

const EXTERNAL_ID_PREFIX = "external_id:";

/** `"external_id":"…"` or `"user_alias":{…}`: the identifier fields as JSON text, without braces. */
function identifierText(key: MemberKey): string {
  // The common case without parsing into an object: an external id is all that follows its prefix.
  if (key.startsWith(EXTERNAL_ID_PREFIX) && key.length > EXTERNAL_ID_PREFIX.length) return `"external_id":${JSON.stringify(key.slice(EXTERNAL_ID_PREFIX.length))}`;
  return JSON.stringify(identifierFields(key)).slice(1, -1);
}

/**
 * The `attributes` array of one request shared by several cohorts of one
 * destination: one object per user, in the batch's order (so `index` in Braze's
 * `errors` is the user's position), carrying every attribute its cohorts change:
 * a boolean's value (`true` on join, `false`/`null` on leave) and an array's
 * values to add and to remove, e.g.
 * `{"coho_vip": true, "coho_cohorts": {"add": ["vip"], "remove": ["churned"]}}`.
 * Braze documents any number of attributes, and `add` with `remove`, in one object.
 */
export function mergedAttributeObjects(bindings: readonly AttributeBinding[], users: readonly MergedUser[], updateExistingOnly: boolean): Record<string, unknown>[] {
  return users.map((user) => {
    const writes = new Map<string, AttributeWrite[]>();
    const gather = (part: number, join: boolean) => {
      const binding = bindings[part];
      if (!binding) throw new CohoError("braze.merge_binding", `cohort part ${part} of a shared request has no attribute binding`);
      writes.set(binding.name, [...(writes.get(binding.name) ?? []), { binding, join }]);
    };
    for (const part of user.add) gather(part, true);
    for (const part of user.remove) gather(part, false);
    const object: Record<string, unknown> = { ...identifierFields(user.key), _update_existing_only: updateExistingOnly };
    for (const [name, attributeWrites] of writes) object[name] = mergedValue(name, attributeWrites);
    return object;
  });
}

interface AttributeWrite {
  readonly binding: AttributeBinding;
  readonly join: boolean;
}

/**
 * One attribute's value in a merged object. Validation lets no two configured
 * cohorts write one boolean attribute, one array value, or one name as both kinds;
 * two writes of one attribute meet only when a cohort removed from the config
 * leaves what a new cohort joins. Then the join wins — the config says the user
 * is in: `true` over `false`/`null`, an added array value is not also removed —
 * so the result never depends on an order Braze does not document.
 */
function mergedValue(name: string, writes: readonly AttributeWrite[]): unknown {
  const joins = writes.filter((w) => w.join);
  const kind = (joins[0] ?? writes[0]!).binding.kind;
  const mixed = writes.filter((w) => w.binding.kind !== kind);
  if (mixed.some((w) => w.join) || (joins.length === 0 && mixed.length > 0)) {
    throw new CohoError("braze.merge_binding", `attribute ${name} is written as a boolean and as an array in one shared request`);
  }
  const kept = writes.filter((w) => w.binding.kind === kind);
  if (kind === "boolean") return attributeValue(kept[0]!.binding, joins.length > 0);
  const values = (join: boolean) => [...new Set(kept.filter((w) => w.join === join).map((w) => (w.binding.kind === "array" ? w.binding.value : "")))];
  const add = values(true);
  const remove = values(false).filter((v) => !add.includes(v));
  return { ...(add.length > 0 ? { add } : {}), ...(remove.length > 0 ? { remove } : {}) };
}

/** Braze's non-fatal errors of a /users/track answer: `index` into the attributes array → message. */
export function refusedIndexes(body: string): Map<number, string> {
  const refused = new Map<number, string>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return refused;
  }
  const errors = (parsed as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return refused;
  for (const error of errors as { type?: unknown; input_array?: unknown; index?: unknown }[]) {
    if (typeof error !== "object" || error === null) continue;
    if (error.input_array !== undefined && error.input_array !== "attributes") continue;
    if (typeof error.index !== "number" || !Number.isInteger(error.index)) continue;
    refused.set(error.index, typeof error.type === "string" ? error.type.slice(0, 200) : "refused");
  }
  return refused;
}
