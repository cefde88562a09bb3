/** What a user should check when /users/track or /users/export/ids refuses, naming config key, env var and permission. */
export function attributesHint(status: number | undefined, destination: string, apiKeyEnv: string, permission: "users.track" | "users.export.ids"): string | undefined {
  const at = `destinations.${destination}`;
  if (status === 401) return `check ${at}.api_key (environment variable ${apiKeyEnv}): Braze did not accept it as a REST API key of this workspace; a 401 can also mean ${at}.rest_endpoint names the wrong Braze instance`;
  if (status === 403) return `the REST API key in ${apiKeyEnv} (${at}.api_key) lacks the ${permission} permission: add it under Settings > APIs and Identifiers in Braze${permission === "users.export.ids" ? ` (missing_profiles: wait, the default, confirms additions with it; or set ${at}.missing_profiles: ignore)` : ""}`;
  if (status === 404) return `check ${at}.rest_endpoint: Braze has no such endpoint there`;
  if (status === 400) return "Braze rejected the request's shape: this is likely a bug in coho, please report it";
  return undefined;
}
