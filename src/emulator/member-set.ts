import { memberKey, type BrazeIdentifier, type MemberKey } from "../model/member-key.js";

/**
 * The members of one emulated cohort, keyed structurally. The display key
 * `alias:<label>:<name>` is ambiguous once a label holds a colon ({label "a:b",
 * name "c"} and {label "a", name "b:c"} print alike), and a third-party client may
 * send such labels, so identity is the JSON of the identifier's parts instead.
 */
export class MemberSet {
  readonly #members = new Map<string, BrazeIdentifier>();

  constructor(identifiers: Iterable<BrazeIdentifier> = []) {
    for (const identifier of identifiers) this.add(identifier);
  }

  get size(): number {
    return this.#members.size;
  }

  has(identifier: BrazeIdentifier): boolean {
    return this.#members.has(structuralKey(identifier));
  }

  add(identifier: BrazeIdentifier): void {
    this.#members.set(structuralKey(identifier), identifier);
  }

  delete(identifier: BrazeIdentifier): boolean {
    return this.#members.delete(structuralKey(identifier));
  }

  identifiers(): BrazeIdentifier[] {
    return [...this.#members.values()];
  }

  /** Display keys (`external_id:u1`), sorted; two members may print alike, never merge. */
  displayKeys(): MemberKey[] {
    return this.identifiers().map(memberKey).sort();
  }
}

/** An injective key: distinct identifiers never share one. */
export function structuralKey(identifier: BrazeIdentifier): string {
  switch (identifier.kind) {
    case "external_id":
    case "device_id":
      return JSON.stringify([identifier.kind, identifier.id]);
    case "alias":
      return JSON.stringify([identifier.kind, identifier.label, identifier.name]);
  }
}
