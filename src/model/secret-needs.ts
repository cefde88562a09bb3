/**
 * Which secrets a command needs resolved: commands that talk to Braze need the
 * destination keys; validate and plan only read sources and state, so missing
 * destination secrets are warnings for them (a fork pull request has none).
 */
export interface SecretNeeds {
  readonly destinations: "required" | "optional";
  readonly stateUrl: "required" | "optional";
}

export const ALL_SECRETS_REQUIRED: SecretNeeds = { destinations: "required", stateUrl: "required" };
/** validate and plan: they read sources and state but never call Braze. */
export const OFFLINE_SECRETS: SecretNeeds = { destinations: "optional", stateUrl: "optional" };
