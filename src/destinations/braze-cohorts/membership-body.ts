import { CohoError } from "../../model/errors.js";
import { parseMemberKey, type MemberKey } from "../../model/member-key.js";

interface ChangeEntry {
  user_ids?: string[];
  device_ids?: string[];
  aliases?: { alias_name: string; alias_label: string }[];
  should_remove?: true;
}

/**
 * The `cohort_changes` array for one batch: at most one entry of additions and one
 * of removals (`should_remove: true`), as Segment's client sends them.
 */
export function cohortChanges(add: readonly MemberKey[], remove: readonly MemberKey[]): ChangeEntry[] {
  const entries: ChangeEntry[] = [];
  if (add.length > 0) entries.push(entry(add));
  if (remove.length > 0) entries.push({ ...entry(remove), should_remove: true });
  return entries;
}

function entry(keys: readonly MemberKey[]): ChangeEntry {
  const result: ChangeEntry = {};
  for (const key of keys) {
    const identifier = parseMemberKey(key);
    if (!identifier) throw new CohoError("braze.member_key", `not a member key: ${JSON.stringify(key.slice(0, 40))}`);
    switch (identifier.kind) {
      case "external_id":
        (result.user_ids ??= []).push(identifier.id);
        break;
      case "device_id":
        (result.device_ids ??= []).push(identifier.id);
        break;
      case "alias":
        (result.aliases ??= []).push({ alias_name: identifier.name, alias_label: identifier.label });
        break;
    }
  }
  return result;
}
