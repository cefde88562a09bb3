/**
 * REST hosts Braze publishes for its instances (see shared braze-cohort-api.md).
 * A rest_endpoint elsewhere gets a warning unless the destination opts in.
 */
export const BRAZE_REST_HOSTS: readonly string[] = [
  ...Array.from({ length: 8 }, (_, i) => `rest.iad-0${i + 1}.braze.com`),
  "rest.us-09.braze.com",
  "rest.us-10.braze.com",
  "rest.fra-01.braze.eu",
  "rest.fra-02.braze.eu",
  "rest.au-01.braze.com",
  "rest.id-01.braze.com",
  "rest.jp-01.braze.com",
];

/** Loopback hosts, where plain http (the local emulator) is acceptable. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}
