/** What a user should check for a refusal, naming the destination's config keys. */
export function hintFor(status: number | undefined, message: string, destination: string, envNames: { partnerApiKey: string; dataImportKey: string }): string | undefined {
  const at = `destinations.${destination}`;
  if (status === 401 && /partner api key/i.test(message)) {
    return `check ${at}.partner_api_key (environment variable ${envNames.partnerApiKey}); a 401 can also mean ${at}.rest_endpoint names the wrong Braze instance`;
  }
  if (status === 401 && /client secret/i.test(message) && !/not enabled/i.test(message)) {
    return `check ${at}.data_import_key (environment variable ${envNames.dataImportKey}): it is the workspace's Data Import Key`;
  }
  if (status === 401) return `check ${at}.partner and ${at}.rest_endpoint: the partner must be enabled for this workspace on this instance`;
  if (status === 404) return `check ${at}.rest_endpoint and ${at}.partner: Braze has no such endpoint`;
  if (status === 400 && /name/.test(message)) return "check the cohort's `name` in the configuration";
  if (status === 400) return "Braze rejected the request's shape: this is likely a bug in coho, please report it";
  return undefined;
}
