import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { EXAMPLES, REPO_ROOT } from "../helpers/fixtures.js";

/**
 * bin/coho.js runs the bundled CLI (dist/bundle/coho.cjs, scripts/bundle-cli.mjs)
 * through V8's code cache (bin/load-cli.cjs). Every other end-to-end test runs
 * it too; these check what only the bundle can get wrong: what a command loads,
 * the cache, and files located relative to modules.
 */
const scratch = mkdtempSync(join(tmpdir(), "coho-bundle-"));
const loadedFile = join(scratch, "loaded.txt");
// Preloaded into the CLI: at exit, every CommonJS file it loaded (the bundle's
// external packages and generated validators are all CommonJS).
const preload = join(scratch, "list-loaded.mjs");
writeFileSync(
  preload,
  `import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
const require = createRequire(import.meta.url);
process.on("exit", () => writeFileSync(${JSON.stringify(loadedFile)}, Object.keys(require.cache).join("\\n")));
`,
);

async function loadedBy(args: readonly string[]): Promise<string[]> {
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` } });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return readFileSync(loadedFile, "utf8").split("\n");
}

const packageOf = (files: readonly string[], name: string) => files.some((f) => f.includes(`${join("node_modules", name)}/`));

describe("the bundled CLI", () => {
  it("validate loads neither DuckDB, PostgreSQL's driver nor undici; plan loads DuckDB", async () => {
    const validate = await loadedBy(["-C", join(EXAMPLES, "quickstart"), "validate"]);
    expect(validate).toContain(join(REPO_ROOT, "bin", "load-cli.cjs"));
    // The schema validator generated at build time, found beside its dist/ module.
    expect(validate).toContain(join(REPO_ROOT, "dist", "config", "schema-validator.generated.cjs"));
    for (const name of ["@duckdb/node-api", "pg", "undici"]) expect(packageOf(validate, name), name).toBe(false);

    const project = mkdtempSync(join(tmpdir(), "coho-bundle-plan-"));
    cpSync(join(EXAMPLES, "quickstart"), project, { recursive: true });
    const plan = await loadedBy(["-C", project, "plan", "--json"]);
    expect(packageOf(plan, "@duckdb/node-api")).toBe(true);
    expect(packageOf(plan, "undici")).toBe(false);
  });

  it("ships a code cache that this Node accepts", async () => {
    const checker = join(scratch, "check-cache.cjs");
    writeFileSync(checker, `const { compileCli } = require(${JSON.stringify(join(REPO_ROOT, "bin", "load-cli.cjs"))});\nprocess.stdout.write(String(compileCli().cacheRejected));\n`);
    const checked = await runCli([], { script: checker });
    expect(checked.stderr).toBe("");
    expect(checked.stdout).toBe("false");
  });

  it("finds files located relative to its modules: build info, package version, schema", async () => {
    const version = await runCli(["version", "--json"]);
    const info = JSON.parse(version.stdout) as { version: string; commit?: string; duckdb?: string };
    expect(info.version).toBe((JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version);
    expect(info.duckdb).toMatch(/^\d+\.\d+/);
    const dir = join(scratch, "init");
    const init = await runCli(["init", dir]);
    expect(init.code).toBe(0);
    expect(readFileSync(join(dir, "coho.schema.json"), "utf8")).toBe(readFileSync(join(REPO_ROOT, "schema", "coho.schema.json"), "utf8"));
  });
});
