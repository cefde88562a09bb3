/**
 * The canonical string for one Braze user, used in snapshots, plans and the
 * emulator: `external_id:<id>`, `alias:<label>:<name>`, `device_id:<id>`.
 * Alias labels never contain ':' (the schema forbids it), so the first two colons
 * of an alias key always delimit kind and label; names may contain anything.
 */
export type MemberKey = string;

export type BrazeIdentifier =
  | { readonly kind: "external_id"; readonly id: string }
  | { readonly kind: "alias"; readonly label: string; readonly name: string }
  | { readonly kind: "device_id"; readonly id: string };

export function memberKey(identifier: BrazeIdentifier): MemberKey {
  switch (identifier.kind) {
    case "external_id":
      return `external_id:${identifier.id}`;
    case "alias":
      return `alias:${identifier.label}:${identifier.name}`;
    case "device_id":
      return `device_id:${identifier.id}`;
  }
}

/** Parses a member key; undefined when it is not one. */
export function parseMemberKey(key: MemberKey): BrazeIdentifier | undefined {
  const colon = key.indexOf(":");
  if (colon < 0) return undefined;
  const kind = key.slice(0, colon);
  const rest = key.slice(colon + 1);
  if (kind === "external_id" && rest !== "") return { kind, id: rest };
  if (kind === "device_id" && rest !== "") return { kind, id: rest };
  if (kind === "alias") {
    const second = rest.indexOf(":");
    if (second <= 0) return undefined;
    return { kind, label: rest.slice(0, second), name: rest.slice(second + 1) };
  }
  return undefined;
}
