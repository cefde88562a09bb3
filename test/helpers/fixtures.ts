import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = join(REPO_ROOT, "test", "fixtures");
export const EXAMPLES = join(REPO_ROOT, "examples");

/** Subfolders of a fixture folder, sorted. */
export function fixtureDirs(group: string): string[] {
  const dir = join(FIXTURES, group);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(dir, d.name))
    .sort();
}

/** Every secret value planted in fixture .env files: none may ever be printed. */
export const PLANTED_SECRETS = ["SECRET-partner-key-1234", "SECRET-import-key-5678", "SECRET-pg-pass-999"];
