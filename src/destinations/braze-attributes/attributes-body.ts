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
 * The `attributes` array of one request shared by several array-attribute
 * cohorts: one object per user, in the batch's order (so `index` in Braze's
 * `errors` is the user's position), its values to add and to remove gathered per
 * attribute, e.g. `{"coho_cohorts": {"add": ["vip"], "remove": ["churned"]}}`.
 * Braze documents `add` and `remove` together in one object; the values of one
 * user never repeat across the two lists (a user joins or leaves each cohort, not both).
 */
export function mergedAttributeObjects(bindings: readonly AttributeBinding[], users: readonly MergedUser[], updateExistingOnly: boolean): Record<string, unknown>[] {
  return users.map((user) => {
    const operations = new Map<string, { add: string[]; remove: string[] }>();
    const gather = (part: number, side: "add" | "remove") => {
      const binding = bindings[part];
      if (binding?.kind !== "array") throw new CohoError("braze.merge_binding", `cohort part ${part} of a shared request is not bound to an array attribute`);
      const operation = operations.get(binding.name) ?? { add: [], remove: [] };
      operation[side].push(binding.value);
      operations.set(binding.name, operation);
    };
    for (const part of user.add) gather(part, "add");
    for (const part of user.remove) gather(part, "remove");
    const object: Record<string, unknown> = { ...identifierFields(user.key), _update_existing_only: updateExistingOnly };
    for (const [name, { add, remove }] of operations) object[name] = { ...(add.length > 0 ? { add } : {}), ...(remove.length > 0 ? { remove } : {}) };
    return object;
  });
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
