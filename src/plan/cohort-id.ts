import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * A new Braze cohort_id: `coho-<key>-<10 random base32 characters>`. URL-safe,
 * readable in Braze, unique per workspace in practice (50 random bits), and
 * stable once recorded in state.
 */
export function newCohortId(key: string): string {
  const bytes = randomBytes(10);
  let suffix = "";
  for (const byte of bytes) suffix += ALPHABET[byte % 32];
  return `coho-${key.replace(/_/g, "-").slice(0, 48)}-${suffix}`;
}
