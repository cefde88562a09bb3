import type { BrazeIdentifier, MemberKey } from "../model/member-key.js";

/**
 * Users' custom attributes in the emulated workspace, with Braze's documented
 * /users/track semantics: `null` removes an attribute; `{add, remove}` treat an
 * array attribute as a set (a re-added value moves to the end); beyond the array
 * cap the oldest values are dropped silently.
 */
export class Profiles {
  /** Canonical user key → custom attributes. */
  readonly attributes = new Map<MemberKey, Record<string, unknown>>();
  /** Users deleted through the inspection API: they no longer exist. */
  readonly deleted = new Set<MemberKey>();
  /** Users created by /users/track (`_update_existing_only: false`) that a --users list did not name. */
  readonly created = new Set<MemberKey>();
  /** Member keys whose attributes objects are refused by index (a test aid: POST /_emulator/users/refuse). */
  readonly refused = new Set<MemberKey>();
  arrayCap: number;

  constructor(arrayCap: number) {
    this.arrayCap = arrayCap;
  }

  get(key: MemberKey): Record<string, unknown> {
    let profile = this.attributes.get(key);
    if (!profile) {
      profile = {};
      this.attributes.set(key, profile);
    }
    return profile;
  }

  /** Sets one attribute as /users/track would. */
  write(key: MemberKey, name: string, value: unknown): void {
    const profile = this.get(key);
    if (value === null) {
      delete profile[name];
      return;
    }
    if (isArrayOperation(value)) {
      const current = Array.isArray(profile[name]) ? [...(profile[name] as unknown[])] : [];
      let next = current.filter((v) => !(value.remove ?? []).includes(v));
      for (const added of value.add ?? []) {
        next = next.filter((v) => v !== added);
        next.push(added);
      }
      // Braze drops the oldest values silently once the array is full.
      if (next.length > this.arrayCap) next = next.slice(next.length - this.arrayCap);
      profile[name] = next;
      return;
    }
    profile[name] = value;
  }

  clear(): void {
    this.attributes.clear();
    this.deleted.clear();
    this.created.clear();
    this.refused.clear();
  }
}

export function isArrayOperation(value: unknown): value is { add?: unknown[]; remove?: unknown[] } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => (k === "add" || k === "remove") && Array.isArray((value as Record<string, unknown>)[k]));
}

const IDENTIFIER_FIELDS = ["external_id", "user_alias", "braze_id", "email", "phone"] as const;
const EXACTLY_ONE_IDENTIFIER = "exactly one of external_id, user_alias, braze_id, email or phone must name the user";

/** The member key of an attributes object's identifier, or a message why it has none. */
export function objectIdentifier(object: Record<string, unknown>): BrazeIdentifier | string {
  let present: string | undefined;
  for (const field of IDENTIFIER_FIELDS) {
    if (object[field] === undefined) continue;
    if (present !== undefined) return EXACTLY_ONE_IDENTIFIER;
    present = field;
  }
  if (present === undefined) return EXACTLY_ONE_IDENTIFIER;
  if (typeof object.external_id === "string" && object.external_id !== "") return { kind: "external_id", id: object.external_id };
  const alias = object.user_alias as { alias_name?: unknown; alias_label?: unknown } | undefined;
  if (alias && typeof alias.alias_name === "string" && typeof alias.alias_label === "string") return { kind: "alias", label: alias.alias_label, name: alias.alias_name };
  if (present === "external_id" || present === "user_alias") return `invalid ${present}`;
  return `the emulator knows users by external_id and user_alias only, not ${present}`;
}

