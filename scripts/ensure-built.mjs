#!/usr/bin/env node
/**
 * Builds coho when dist/ is missing or older than its sources, so the example
 * scripts (`npm run quickstart`, `npm run example:attributes`) work right after
 * `npm ci` on a fresh clone — `npm ci` no longer builds: the package is built when
 * it is packed (`prepack`), never when it is installed — and run again at once
 * when nothing changed.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "bundle", "coho.cjs.v8cache"); // the build's last output

function newest(path) {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

let builtAt = 0;
try {
  builtAt = statSync(built).mtimeMs;
} catch {
  builtAt = 0;
}
const sources = Math.max(...["src", "schema", "scripts/bundle-cli.mjs", "package.json", "tsconfig.json", "tsconfig.build.json"].map((p) => newest(join(root, p))));
if (builtAt < sources) {
  console.error(builtAt === 0 ? "coho is not built yet: npm run build" : "coho's sources changed since the last build: npm run build");
  const result = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
  process.exit(result.status ?? 1);
}
