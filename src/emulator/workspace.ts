import { memberKey, type BrazeIdentifier, type MemberKey } from "../model/member-key.js";
import { MemberSet, structuralKey } from "./member-set.js";
import { Profiles } from "./profiles.js";

/** A user of the emulated workspace: how Braze can find them. */
export interface WorkspaceUser {
  readonly externalId?: string;
  readonly aliases?: readonly { readonly label: string; readonly name: string }[];
  readonly deviceIds?: readonly string[];
}

export interface EmulatedCohort {
  name: string | null;
  createdAt: string | null;
  /** The member users, each by its canonical identifier (see canonicalIdentifier). */
  readonly members: MemberSet;
}

/**
 * What one Braze workspace holds, with Braze's documented membership rules:
 * unknown users are ignored (never created), a device id of an identified user is
 * ignored, and adds/removes are idempotent.
 *
 * Without a user list every external_id and alias is a known user of its own and
 * every device id an anonymous device. With one, identifiers resolve to the listed
 * users, so an alias and an external_id of the same person are one member.
 */
export class Workspace {
  readonly cohorts = new Map<string, EmulatedCohort>();
  /** Custom attributes, for the /users/track road. */
  readonly profiles: Profiles;
  /** By structural key of every identifier a listed user has. */
  readonly #index: Map<string, { canonical: BrazeIdentifier; identified: boolean }> | undefined;

  constructor(users?: readonly WorkspaceUser[], arrayCap = 500) {
    this.profiles = new Profiles(arrayCap);
    if (!users) return;
    this.#index = new Map();
    for (const user of users) {
      const canonical = canonicalIdentifier(user);
      if (canonical === undefined) continue;
      const identified = user.externalId !== undefined;
      if (user.externalId !== undefined) this.#index.set(structuralKey({ kind: "external_id", id: user.externalId }), { canonical, identified });
      for (const alias of user.aliases ?? []) this.#index.set(structuralKey({ kind: "alias", ...alias }), { canonical, identified });
      for (const id of user.deviceIds ?? []) this.#index.set(structuralKey({ kind: "device_id", id }), { canonical, identified });
    }
  }

  upsertCohort(cohortId: string, name: string, createdAt: string): void {
    const cohort = this.cohorts.get(cohortId);
    if (cohort) {
      cohort.name = name;
      cohort.createdAt ??= createdAt;
    } else {
      this.cohorts.set(cohortId, { name, createdAt, members: new MemberSet() });
    }
  }

  /** Applies one cohort_changes entry; returns how many users it changed. */
  change(cohortId: string, identifiers: readonly BrazeIdentifier[], remove: boolean): number {
    let cohort = this.cohorts.get(cohortId);
    if (!cohort) {
      // Membership sent before any upsert: kept, but the cohort has no name yet.
      cohort = { name: null, createdAt: null, members: new MemberSet() };
      this.cohorts.set(cohortId, cohort);
    }
    let changed = 0;
    for (const identifier of identifiers) {
      const user = this.resolve(identifier);
      if (user === undefined) continue;
      const had = cohort.members.has(user);
      if (remove && had) cohort.members.delete(user);
      else if (!remove && !had) cohort.members.add(user);
      else continue;
      changed++;
    }
    return changed;
  }

  /** The canonical identifier of the user an identifier names, or undefined if Braze would ignore it. */
  resolve(identifier: BrazeIdentifier): BrazeIdentifier | undefined {
    if (!this.#index) return identifier;
    const user = this.#index.get(structuralKey(identifier));
    if (!user) return undefined;
    // A device id that belongs to an identified user is ignored by Braze.
    if (identifier.kind === "device_id" && user.identified) return undefined;
    return user.canonical;
  }

  /**
   * The user an external_id or alias names on the /users/track road: its member
   * key, and whether the profile exists (known from --users, or every id without a
   * list; not after a deletion through the inspection API; yes once /users/track
   * created it).
   */
  user(identifier: BrazeIdentifier): { key: MemberKey; exists: boolean } {
    const resolved = this.resolve(identifier);
    const key = memberKey(resolved ?? identifier);
    const exists = (resolved !== undefined && !this.profiles.deleted.has(key)) || this.profiles.created.has(key);
    return { key, exists };
  }

  reset(): void {
    this.cohorts.clear();
    this.profiles.clear();
  }
}

/** How a user is listed among members: external_id if identified, else first alias, else first device. */
export function canonicalIdentifier(user: WorkspaceUser): BrazeIdentifier | undefined {
  if (user.externalId !== undefined) return { kind: "external_id", id: user.externalId };
  const alias = user.aliases?.[0];
  if (alias) return { kind: "alias", ...alias };
  const device = user.deviceIds?.[0];
  return device === undefined ? undefined : { kind: "device_id", id: device };
}
