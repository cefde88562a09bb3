/**
 * Bundles the compiled CLI (dist/cli/main.js and everything it imports) into one
 * CommonJS file, dist/bundle/coho.cjs, then warms it up with one command and
 * saves V8's code cache beside it (see bin/load-cli.cjs). Start-up was dominated
 * by resolving, reading and compiling ~100 ES modules plus the ~80 CommonJS files
 * of yaml and commander; one cached file removes most of that (README
 * "Performance").
 *
 * Invariants:
 * - Only the CLI is bundled. The library API (package.json "main", dist/index.js)
 *   stays the plain tsc output.
 * - Every module sees the `import.meta.url` its dist/ twin would have, so files
 *   located relative to a module (schema/, the generated validators,
 *   build-info.json, package.json) resolve exactly as they do from dist/.
 * - Modules a command loads with import() still run only when it does: esbuild
 *   wraps each in a lazy initializer. Heavy packages few commands use stay
 *   outside the bundle and are required when needed (DuckDB's native binding,
 *   pg, undici), as are modules loaded through createRequire (ajv, tinyglobby).
 */
import { readFile, rm } from "node:fs/promises";
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
// "use strict" first: the banner must not turn the bundle (ES modules: strict code) into sloppy code.
const distUrlHelper = `"use strict";\nconst ${DIST_URL} = (path) => require("node:url").pathToFileURL(require("node:path").join(__dirname, path)).href;`;

/** Replaces `import.meta.url` in each compiled module by the file URL of that module in dist/. */
const ownUrlOfDistTwin = {
  name: "own-url-of-dist-twin",
  setup(builder) {
    builder.onLoad({ filter: new RegExp(`^${escapeRegExp(dist + sep)}.*\\.js$`) }, async (args) => {
      const text = await readFile(args.path, "utf8");
      const fromBundle = JSON.stringify(relative(outdir, args.path).split(sep).join("/"));
      return { contents: text.replaceAll("import.meta.url", `${DIST_URL}(${fromBundle})`), loader: "js" };
    });
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
  external: ["@duckdb/node-api", "pg", "pg-cursor", "pg-copy-streams", "undici"],
  banner: { js: distUrlHelper },
  plugins: [ownUrlOfDistTwin],
  logLevel: "warning",
});

// Warm-up: validate the quickstart through the bundle (output discarded), so the
// cache holds the functions every start-up runs, not only the top level.
const { compileCli, writeCodeCache } = createRequire(import.meta.url)("../bin/load-cli.cjs");
const { cli, script } = compileCli();
const sink = () => new PassThrough().resume();
await cli.main(["node", "coho", "-C", join(root, "examples", "quickstart"), "validate"], { stdout: sink(), stderr: sink(), stdin: new PassThrough(), env: {}, cwd: root });
writeCodeCache(script);
