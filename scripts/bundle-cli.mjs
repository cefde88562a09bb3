/**
 * Bundles the compiled CLI (dist/cli/main.js and everything it imports) into one
 * CommonJS file, dist/bundle/coho.cjs, then warms it up with one command and
 * saves V8's code cache beside it (see bin/coho.js). Start-up was dominated
 * by resolving, reading and compiling ~100 ES modules plus the ~80 CommonJS files
 * of yaml and commander; one cached file removes most of that (README
 * "Performance").
 *
 * Invariants:
 * - Only the CLI is bundled. The library API (package.json "main", dist/index.js)
 *   stays the plain tsc output.
 * - Every module sees the `import.meta.url` its dist/ twin would have, so files
 *   located relative to a module (schema/, build-info.json) resolve exactly as
 *   they do from dist/. The generated validators are bundled instead, and the
 *   package version is a constant written at bundle time.
 * - Nothing that `coho validate` does not need runs at its start: test/e2e/
 *   cli-bundle.test.ts lists the bundled modules it initializes.
 * - Modules a command loads with import() or require() still run only when it
 *   does: esbuild wraps each in a lazy initializer. So the drivers plan and apply
 *   load on every run are bundled too, though validate never runs them: DuckDB's
 *   JavaScript API, pg and undici (loading them from node_modules cost ~80, ~75
 *   and ~100 ms at every plan or apply; bundled and in the code cache, a plan
 *   takes a quarter less CPU). Outside the bundle stay DuckDB's native binding
 *   (@duckdb/node-bindings, which package.json pins to the exact release of the
 *   bundled @duckdb/node-api), pg's optional pg-native, the warehouse drivers (optional
 *   peer dependencies, src/sources/load-driver.ts), and modules loaded through
 *   createRequire (ajv, tinyglobby).
 * - The code cache holds what validate and a plan of the quickstart compiled
 *   (the build runs both, the plan in a scratch copy).
 */
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const outdir = join(dist, "bundle");
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Defined once at the top of the bundle, where `require` is Node's own (a module
 * may declare its own `require` through createRequire, shadowing it).
 */
const DIST_URL = "__cohoDistUrl";
/**
 * The bundle is one function expression taking CommonJS's module parameters,
 * written as such in the file, so bin/coho.js compiles the file's text as it is
 * read (no concatenated copy of ~0.8 MB to build and flatten at every start).
 * The file is therefore not a module to require() itself: bin/coho.js runs it.
 */
const MODULE_WRAPPER_START = "(function (exports, require, module, __filename, __dirname) {";
// "use strict" first in the function: the banner must not turn the bundle (ES modules: strict code) into sloppy code.
const distUrlHelper = `${MODULE_WRAPPER_START}"use strict";\nconst ${DIST_URL} = (path) => require("node:url").pathToFileURL(require("node:path").join(__dirname, path)).href;`;

/**
 * A module of dist/ that loads its build-time generated validator
 * (`createRequire(import.meta.url)(`./${GENERATED_…}`)`, the file name a constant
 * of the same module) gets a plain `require("./name.generated.cjs")` instead, so
 * the validator is bundled and its compiled code lands in the code cache rather
 * than being read and compiled from its own file at every start.
 */
const GENERATED_REQUIRE = /createRequire\(import\.meta\.url\)\(`\.\/\$\{(GENERATED_\w+)\}`\)/g;
function bundleGeneratedValidators(text, path) {
  return text.replace(GENERATED_REQUIRE, (call, constant) => {
    const declared = new RegExp(`export const ${constant} = ("[\\w.-]+\\.generated\\.cjs");`).exec(text);
    if (!declared) throw new Error(`${path}: ${constant} is not declared as a string in the same module`);
    return `require(${declared[1].replace(/^"/, '"./')})`;
  });
}

/**
 * dist/ modules that load a driver on first use with a require() of their own
 * (createRequire: Node's ES modules have none). In the bundle they use the
 * bundle's require instead, so esbuild sees each `require("package")` and bundles
 * the package behind a lazy initializer.
 */
const BUNDLED_DRIVER_MODULES = [join(dist, "sources", "duckdb-driver.js"), join(dist, "sources", "postgres", "pg-driver.js")];
const OWN_REQUIRE = "const require = createRequire(import.meta.url);";
function requireBundledDrivers(text, path) {
  if (!BUNDLED_DRIVER_MODULES.includes(path)) return text;
  if (!text.includes(OWN_REQUIRE)) throw new Error(`${path}: expected ${OWN_REQUIRE}`);
  return text.replace(OWN_REQUIRE, "");
}

/** Package version, fixed at bundle time: the bundle ships in the same package as package.json. */
const { version } = JSON.parse(await readFile(join(root, "package.json"), "utf8"));

/**
 * Replaces `import.meta.url` in each compiled module by the file URL of that
 * module in dist/, bundles the generated validators, and turns dist/version.js
 * (which reads package.json at load) into a constant.
 */
const ownUrlOfDistTwin = {
  name: "own-url-of-dist-twin",
  setup(builder) {
    builder.onLoad({ filter: new RegExp(`^${escapeRegExp(dist + sep)}.*\\.js$`) }, async (args) => {
      if (args.path === join(dist, "version.js")) return { contents: `export const COHO_VERSION = ${JSON.stringify(version)};\n`, loader: "js" };
      const text = requireBundledDrivers(bundleGeneratedValidators(await readFile(args.path, "utf8"), args.path), args.path);
      const fromBundle = JSON.stringify(relative(outdir, args.path).split(sep).join("/"));
      return { contents: text.replaceAll("import.meta.url", `${DIST_URL}(${fromBundle})`), loader: "js" };
    });
  },
};

/**
 * commander requires node:child_process at load (which pulls in net, dgram and
 * streams) but only calls spawn() for executable subcommands, which coho does
 * not declare. It gets a stand-in that loads the real module on first use.
 */
const LAZY_BUILTINS = new Set(["node:child_process", "child_process"]);
const lazyChildProcessForCommander = {
  name: "lazy-child-process-for-commander",
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      LAZY_BUILTINS.has(args.path) && args.importer.includes(`${sep}node_modules${sep}commander${sep}`) ? { path: "node:child_process", namespace: "lazy-builtin" } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({
      contents: `module.exports = new Proxy({}, { get: (_, name) => require(${JSON.stringify(args.path)})[name] });\n`,
      loader: "js",
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { coho: join(dist, "cli", "main.js") },
  outdir,
  outExtension: { ".js": ".cjs" },
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  // import() becomes require(): code compiled by vm.Script has no ES module loader.
  supported: { "dynamic-import": false },
  sourcemap: "linked",
  // Smaller source to read and hash, and no comments: with charset "ascii" (non-ASCII
  // in strings escaped) the bundle is pure ASCII, which bin/coho.js relies on.
  // Identifiers keep their names (class and function names appear in messages).
  minifyWhitespace: true,
  minifySyntax: true,
  charset: "ascii",
  // Bundled packages' license comments go to coho.cjs.LEGAL.txt (one holds a non-ASCII name).
  legalComments: "external",
  external: ["@duckdb/node-bindings", "pg-native"],
  banner: { js: distUrlHelper },
  footer: { js: "})" },
  plugins: [ownUrlOfDistTwin, lazyChildProcessForCommander],
  logLevel: "warning",
});

// bin/coho.js reads the bundle as latin1, V8's one-byte strings, which is exact only for ASCII.
const nonAscii = /[^\x00-\x7f]/.exec(await readFile(join(outdir, "coho.cjs"), "latin1"));
if (nonAscii) throw new Error(`dist/bundle/coho.cjs holds a non-ASCII character at offset ${nonAscii.index}; bin/coho.js reads it as latin1`);

// Warm-up: validate the quickstart through the bundle (output discarded), then plan
// a scratch copy of it, so the cache holds the functions every start-up and every
// plan runs (DuckDB's API among them), not only the top level.
const { compileCli, writeCodeCache } = createRequire(import.meta.url)("../bin/coho.js");
const { cli, script } = compileCli();
const sink = () => new PassThrough().resume();
const validated = await cli.main(["node", "coho", "-C", join(root, "examples", "quickstart"), "validate"], { stdout: sink(), stderr: sink(), stdin: new PassThrough(), env: {}, cwd: root });
if (validated !== 0) throw new Error(`the warm-up validate of examples/quickstart exited ${validated}`);
const scratch = await mkdtemp(join(tmpdir(), "coho-warm-up-"));
try {
  await cp(join(root, "examples", "quickstart"), scratch, { recursive: true, filter: (from) => !/[\\/](\.coho|coho\.lock)$/.test(from) });
  const code = await cli.main(["node", "coho", "-C", scratch, "plan"], { stdout: sink(), stderr: sink(), stdin: new PassThrough(), env: {}, cwd: scratch });
  if (code !== 0) throw new Error(`the warm-up plan of the quickstart exited ${code}`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
writeCodeCache(script);
