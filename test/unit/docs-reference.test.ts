import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without type declarations
import { collectKeys, PAGE_PATH, renderPage } from "../../scripts/config-reference.mjs";
import { REPO_ROOT } from "../helpers/fixtures.js";

interface SchemaKey { path: string; condition: string; description?: string }

const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schema", "coho.schema.json"), "utf8")) as object;
const keys = collectKeys(schema) as SchemaKey[];

describe("docs/configuration.md, generated from the schema", () => {
  it("every key of schema/coho.schema.json has a description", () => {
    expect(keys.length).toBeGreaterThan(50);
    expect(keys.filter((k) => !k.description?.trim()).map((k) => k.path)).toEqual([]);
  });

  it("is up to date (run npm run docs:config after changing the schema)", () => {
    expect(readFileSync(PAGE_PATH as string, "utf8")).toBe(renderPage());
  });

  it("lists every key", () => {
    const page = readFileSync(PAGE_PATH as string, "utf8");
    expect(keys.filter((k) => !page.includes(`**\`${k.path}\`**`)).map((k) => k.path)).toEqual([]);
  });
});

const CODE_PREFIXES = ["config", "state", "dbt", "plan", "source", "braze", "apply", "emulator", "cli", "verify", "init", "check", "history", "journal", "destination", "environment", "warehouse", "sandbox", "system", "io", "api"];

/** Files under src/, recursively. */
function sourceFiles(dir = join(REPO_ROOT, "src")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

/**
 * Every error code coho can print: each string literal shaped like a code
 * (`prefix.snake_case`) in the source, less configuration key paths
 * (`state.url`, `dbt.owner`) and file names. Codes built at run time
 * (`config.schema.<keyword>`) are documented by their prefix.
 */
function errorCodes(): string[] {
  const keyPaths = new Set(keys.map((k) => k.path));
  const pattern = new RegExp(String.raw`["'\`]((?:${CODE_PREFIXES.join("|")})\.[a-z][a-z_]*)["'\`]`, "g");
  const codes = new Set<string>();
  for (const file of sourceFiles()) {
    for (const match of readFileSync(file, "utf8").matchAll(pattern)) {
      const code = match[1]!;
      if (keyPaths.has(code) || /\.(lock|ya?ml|jsonl?|md|sql|csv)$/.test(code)) continue;
      codes.add(code);
    }
  }
  return [...codes].sort();
}

describe("docs/troubleshooting.md", () => {
  const page = readFileSync(join(REPO_ROOT, "docs", "troubleshooting.md"), "utf8");

  it("has an entry with meaning and fix for every error code in the source", () => {
    const codes = errorCodes();
    expect(codes.length).toBeGreaterThan(100);
    const entry = (code: string) => new RegExp(String.raw`^\| \`${code.replace(/\./g, "\\.")}\` \| [^|]*\S[^|]* \| [^|]*\S[^|]* \|$`, "m");
    expect(codes.filter((code) => !entry(code).test(page))).toEqual([]);
  });

  it("documents the codes built at run time by their prefix", () => {
    expect(readFileSync(join(REPO_ROOT, "src", "config", "validate-schema.ts"), "utf8")).toContain("`config.schema.${");
    expect(page).toContain("| `config.schema.<keyword>` |");
  });
});
