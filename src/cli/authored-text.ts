import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Whether coho's own code spells `text` out, so that coho's own words (a hint's
 * "run coho check", a flag name, a heading) may hold it. The code is the CLI's
 * bundle (dist/bundle/coho.cjs: every message template, hint and help text, as
 * ASCII), read once, and only when a secret shows up in output at all. Run
 * without the bundle (from src/ in tests), nothing counts as coho's own words:
 * every secret is then replaced wherever it appears, as a strict fallback.
 */
export function spelledByCoho(text: string): boolean {
  if (corpus === undefined) corpus = readBundle();
  return corpus !== null && corpus.includes(text);
}

let corpus: string | null | undefined;

function readBundle(): string | null {
  try {
    // This module's dist/ twin is dist/cli/authored-text.js, inside the bundle too (bundle-cli.mjs keeps import.meta.url).
    return readFileSync(fileURLToPath(new URL("../bundle/coho.cjs", import.meta.url)), "latin1");
  } catch {
    return null;
  }
}
