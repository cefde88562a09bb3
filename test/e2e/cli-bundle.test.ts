import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { EXAMPLES, REPO_ROOT } from "../helpers/fixtures.js";

/**
 * bin/coho.js runs the bundled CLI (dist/bundle/coho.cjs, scripts/bundle-cli.mjs)
 * through V8's code cache. Every other end-to-end test runs
 * it too; these check what only the bundle can get wrong: what a command loads,
 * the cache, and files located relative to modules.
 */
const scratch = mkdtempSync(join(tmpdir(), "coho-bundle-"));
const loadedFile = join(scratch, "loaded.json");
// Preloaded into the CLI: at exit, every CommonJS file it loaded (the bundle's
// external packages are all CommonJS) and every built-in module Node loaded.
const preload = join(scratch, "list-loaded.mjs");
writeFileSync(
  preload,
  `import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
const require = createRequire(import.meta.url);
process.on("exit", () => writeFileSync(${JSON.stringify(loadedFile)}, JSON.stringify({ files: Object.keys(require.cache), builtins: process.moduleLoadList })));
`,
);

interface Loaded {
  /** Files loaded through require(): the bundle's external packages. */
  readonly files: string[];
  /** Node's own modules, as process.moduleLoadList names them ("NativeModule child_process"). */
  readonly builtins: string[];
  /** The bundled modules whose top level ran (esbuild names each module's initializer by its path). */
  readonly initialized: string[];
}

/**
 * Runs coho with V8 coverage on: the bundle wraps each module in an initializer
 * named after the module's path (dist/…, node_modules/…), so the functions that
 * ran say which modules a command initialized, inside the one bundled file.
 */
async function loadedBy(args: readonly string[]): Promise<Loaded> {
  const coverage = mkdtempSync(join(scratch, "coverage-"));
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`, NODE_V8_COVERAGE: coverage } });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  const bundleUrl = pathToFileURL(join(REPO_ROOT, "dist", "bundle", "coho.cjs")).href;
  const initialized = readdirSync(coverage).flatMap((file) => {
    const { result: scripts } = JSON.parse(readFileSync(join(coverage, file), "utf8")) as CoverageFile;
    return scripts
      .filter((script) => script.url === bundleUrl)
      .flatMap((script) => script.functions.filter((f) => MODULE_INITIALIZER.test(f.functionName) && f.ranges[0]!.count > 0).map((f) => f.functionName));
  });
  return { ...(JSON.parse(readFileSync(loadedFile, "utf8")) as Omit<Loaded, "initialized">), initialized };
}

interface CoverageFile {
  readonly result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
}

const MODULE_INITIALIZER = /^(dist|node_modules)\//;

const packageOf = (files: readonly string[], name: string) => files.some((f) => f.includes(`${join("node_modules", name)}/`));

/** What validate must not run: the plan and apply engines, state, sources beyond errors, and their renderers. */
const NOT_FOR_VALIDATE = [
  /^dist\/operations\/(?!validate\.js$)/,
  /^dist\/(plan|apply|state)\//,
  /^dist\/sources\/(?!source-error\.js$)/,
  /^dist\/emulator\/(?!faults\.js$|options\.js$)/,
  /^dist\/render\/(plan|apply|history|state-view|verify|check)/,
  /^dist\/cli\/commands\/(plan|apply|verify|emulator)-run\.js$/,
];

describe("the bundled CLI", () => {
  it("validate runs only the modules it needs: no plan engine, state, DuckDB, pg, undici or child_process", async () => {
    const validate = await loadedBy(["-C", join(EXAMPLES, "quickstart"), "validate"]);
    // bin/coho.js loads the bundle itself: no loader module of its own to resolve and compile first.
    expect(validate.files.filter((file) => file.startsWith(join(REPO_ROOT, "bin")))).toEqual([join(REPO_ROOT, "bin", "coho.js")]);
    // The schema validator generated at build time is bundled (and so in the code cache), not read beside its dist/ module.
    expect(validate.initialized).toContain("dist/config/schema-validator.generated.cjs");
    expect(validate.files).not.toContain(join(REPO_ROOT, "dist", "config", "schema-validator.generated.cjs"));
    expect(packageOf(validate.files, "ajv")).toBe(false);
    // The drivers are bundled (read from the bundle, never from node_modules) and validate runs none of them.
    for (const name of ["@duckdb/node-api", "@duckdb/node-bindings", "pg", "undici"]) expect(packageOf(validate.files, name), name).toBe(false);
    for (const name of ["@duckdb/", "pg/", "pg-protocol/", "undici/"]) expect(validate.initialized.filter((module) => module.startsWith(`node_modules/${name}`)), name).toEqual([]);
    expect(validate.initialized).toContain("dist/operations/validate.js");
    for (const pattern of NOT_FOR_VALIDATE) expect(validate.initialized.filter((name) => pattern.test(name)), String(pattern)).toEqual([]);
    // commander's executable subcommands would need it; coho has none. Prompts alone read stdin.
    expect(validate.builtins).not.toContain("NativeModule child_process");

    const project = mkdtempSync(join(tmpdir(), "coho-bundle-plan-"));
    cpSync(join(EXAMPLES, "quickstart"), project, { recursive: true });
    const plan = await loadedBy(["-C", project, "plan", "--json"]);
    // DuckDB's API runs from the bundle; only its native binding is loaded from node_modules.
    expect(plan.initialized).toContain("node_modules/@duckdb/node-api/lib/index.js");
    expect(packageOf(plan.files, "@duckdb/node-api")).toBe(false);
    expect(packageOf(plan.files, "@duckdb/node-bindings")).toBe(true);
    expect(plan.initialized.filter((module) => module.startsWith("node_modules/undici/"))).toEqual([]);
    expect(packageOf(plan.files, "undici")).toBe(false);
    // The same check sees the plan engine when it does run.
    expect(plan.initialized).toContain("dist/operations/plan.js");
    expect(plan.initialized.filter((name) => NOT_FOR_VALIDATE[1]!.test(name)).length).toBeGreaterThan(0);
  });

  it("bundles the DuckDB API of the native binding a user installs: both pinned to one exact release", () => {
    // The bundle carries @duckdb/node-api's JavaScript as built; an install resolves the
    // native binding from package.json. A range would let the two drift apart.
    const read = (path: string) => JSON.parse(readFileSync(path, "utf8")) as { version: string; dependencies: Record<string, string> };
    const own = read(join(REPO_ROOT, "package.json")).dependencies;
    const api = read(join(REPO_ROOT, "node_modules", "@duckdb", "node-api", "package.json"));
    expect(own["@duckdb/node-api"]).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    expect(own["@duckdb/node-bindings"]).toBe(own["@duckdb/node-api"]);
    expect(api.version).toBe(own["@duckdb/node-api"]);
    expect(api.dependencies["@duckdb/node-bindings"]).toBe(own["@duckdb/node-bindings"]);
  });

  it("ships a code cache that this Node accepts", async () => {
    const checker = join(scratch, "check-cache.cjs");
    writeFileSync(checker, `const { compileCli } = require(${JSON.stringify(join(REPO_ROOT, "bin", "coho.js"))});\nprocess.stdout.write(String(compileCli().cacheRejected));\n`);
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
