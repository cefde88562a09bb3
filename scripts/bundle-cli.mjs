/**
 * Bundles the compiled CLI (dist/cli/main.js and what it imports) into
 * dist/bundle/: one entry, coho.mjs, plus chunks that only the commands needing
 * them load (esbuild code splitting at each dynamic import()). Start-up was
 * dominated by resolving, reading and compiling ~100 separate ES modules and the
 * ~80 CommonJS files of yaml and commander; a bundle of a few files removes most
 * of that (README "Performance").
 *
 * Invariants:
 * - Only the CLI is bundled. The library API (package.json "main", dist/index.js)
 *   stays the plain tsc output.
 * - Every module sees the `import.meta.url` its dist/ twin would have, so files
 *   located relative to a module (schema/, the generated validators,
 *   build-info.json, package.json) resolve exactly as they do from dist/.
 * - Packages that are heavy and used by few commands stay external and are
 *   loaded at run time when a command needs them (DuckDB's native binding,
 *   pg, undici); so do modules required through createRequire (ajv, tinyglobby).
 */
import { readFile, rm } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const outdir = join(dist, "bundle");
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Replaces `import.meta.url` in each compiled module by the URL of that module's file in dist/. */
const ownUrlOfDistTwin = {
  name: "own-url-of-dist-twin",
  setup(builder) {
    const filter = new RegExp(`^${escapeRegExp(dist + sep)}.*\\.js$`);
    builder.onLoad({ filter }, async (args) => {
      const text = await readFile(args.path, "utf8");
      const fromBundle = relative(outdir, args.path).split(sep).join("/");
      return { contents: text.replaceAll("import.meta.url", `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), loader: "js" };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: { coho: join(dist, "cli", "main.js") },
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  external: ["@duckdb/node-api", "pg", "pg-cursor", "pg-copy-streams", "undici"],
  // Bundled CommonJS (commander, yaml) calls require() for Node built-ins.
  banner: { js: 'import { createRequire as __cohoCreateRequire } from "node:module";\nconst require = __cohoCreateRequire(import.meta.url);' },
  plugins: [ownUrlOfDistTwin],
  logLevel: "warning",
});
