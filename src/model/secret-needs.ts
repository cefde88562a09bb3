/**
 * Which secrets a command needs resolved: commands that talk to Braze need the
 * destination keys; validate and plan only read sources and state, so missing
 * destination secrets are warnings for them (a fork pull request has none).
 */
export interface SecretNeeds {
  readonly destinations: SecretNeed;
  readonly stateUrl: SecretNeed;
}

/**
 * required: unset is an error. optional: unset is a warning (the command can do
 * without, but the user may have forgotten it). unused: the command never uses
 * it, so an unset value is not worth a word (a read-only command, or a
 * pull-request workflow that withholds Braze keys on purpose).
 */
export type SecretNeed = "required" | "optional" | "unused";

export const ALL_SECRETS_REQUIRED: SecretNeeds = { destinations: "required", stateUrl: "required" };
/** validate and plan: they read sources and state but never call Braze. */
export const OFFLINE_SECRETS: SecretNeeds = { destinations: "optional", stateUrl: "optional" };
/** Commands that read or tidy state but never talk to Braze: state list/show/rm, history, show, the journal, force-unlock. */
export const STATE_ONLY_SECRETS: SecretNeeds = { destinations: "unused", stateUrl: "required" };
/** Commands that read neither Braze nor state (dbt exposures). */
export const NO_SECRETS: SecretNeeds = { destinations: "unused", stateUrl: "unused" };
