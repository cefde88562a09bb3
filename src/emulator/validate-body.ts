import type { BrazeIdentifier } from "../model/member-key.js";

/** Braze's documented 400 messages, word for word. */
export const MESSAGES = {
  cohortId: "`cohort_id` must be a valid string",
  changes:
    "`cohort_changes` must be an array of objects each with key `user_ids` and/or `device_ids` mapping to an array of strings, or an `aliases` object",
  tooMany: "Only 1,000 `user_ids`, `device_ids`, and `aliases` are allowed per request",
  name: "`name` must be a non-empty string",
  createdAt: "`created_at` must be a valid time as an ISO-8601 string",
} as const;

/** Braze's cap: identifiers per request, across all entries together. */
export const MAX_IDENTIFIERS_PER_REQUEST = 1000;

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

export interface CohortUpsert {
  readonly cohortId: string;
  readonly name: string;
  readonly createdAt: string;
}

export function checkCohortUpsert(body: Record<string, unknown>): Checked<CohortUpsert> {
  if (!isNonEmptyString(body.cohort_id)) return { ok: false, message: MESSAGES.cohortId };
  if (typeof body.name !== "string" || body.name.trim() === "") return { ok: false, message: MESSAGES.name };
  if (!isIsoTime(body.created_at)) return { ok: false, message: MESSAGES.createdAt };
  return { ok: true, value: { cohortId: body.cohort_id, name: body.name, createdAt: body.created_at } };
}

export interface MembershipChange {
  readonly remove: boolean;
  readonly identifiers: readonly BrazeIdentifier[];
}

export function checkMembership(body: Record<string, unknown>): Checked<{ cohortId: string; changes: MembershipChange[]; count: number }> {
  if (!isNonEmptyString(body.cohort_id)) return { ok: false, message: MESSAGES.cohortId };
  const raw = body.cohort_changes;
  if (!Array.isArray(raw)) return { ok: false, message: MESSAGES.changes };
  const changes: MembershipChange[] = [];
  let count = 0;
  for (const entry of raw as unknown[]) {
    const change = checkEntry(entry);
    if (!change) return { ok: false, message: MESSAGES.changes };
    count += change.identifiers.length;
    changes.push(change);
  }
  if (count > MAX_IDENTIFIERS_PER_REQUEST) return { ok: false, message: MESSAGES.tooMany };
  return { ok: true, value: { cohortId: body.cohort_id, changes, count } };
}

function checkEntry(entry: unknown): MembershipChange | undefined {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return undefined;
  const e = entry as Record<string, unknown>;
  for (const key of Object.keys(e)) if (!["user_ids", "device_ids", "aliases", "should_remove"].includes(key)) return undefined;
  if (e.user_ids === undefined && e.device_ids === undefined && e.aliases === undefined) return undefined;
  if (e.should_remove !== undefined && typeof e.should_remove !== "boolean") return undefined;
  const identifiers: BrazeIdentifier[] = [];
  for (const [field, kind] of [["user_ids", "external_id"], ["device_ids", "device_id"]] as const) {
    const list = e[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every(isNonEmptyString)) return undefined;
    for (const id of list as string[]) identifiers.push({ kind, id });
  }
  if (e.aliases !== undefined) {
    if (!Array.isArray(e.aliases)) return undefined;
    for (const alias of e.aliases as unknown[]) {
      const a = alias as Record<string, unknown> | null;
      if (typeof a !== "object" || a === null || !isNonEmptyString(a.alias_name) || !isNonEmptyString(a.alias_label)) return undefined;
      identifiers.push({ kind: "alias", label: a.alias_label, name: a.alias_name });
    }
  }
  return { remove: e.should_remove === true, identifiers };
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}

/** ISO-8601 date-time with an offset or Z, e.g. 2021-01-21T19:20:30+05:00. */
function isIsoTime(value: unknown): value is string {
  if (typeof value !== "string") return false;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value)) return false;
  return !Number.isNaN(Date.parse(value));
}
