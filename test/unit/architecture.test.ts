import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures.js";

/**
 * The dependency rule of ARCHITECTURE.md, checked on the sources: a layer that
 * imports the wrong way fails here with the file and the import named.
 */
const SRC = join(REPO_ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every relative module a file imports (static, re-export or dynamic), as a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(SRC, resolve(dirname(file), s)).split(sep).join("/"));
}

const layer = (srcPath: string) => srcPath.split("/")[0]!;
const files = sourceFiles(SRC).map((path) => ({ path, name: relative(SRC, path).split(sep).join("/") }));

/** Pure formatting helpers outside render/ and operations/ that commands may use. */
const CLI_MAY_ALSO_IMPORT = new Set(["config/scaffold.js", "state/canonical-json.js", "state/lock-holder.js", "version.js", "build-info.js"]);
const CLI_LAYERS = new Set(["cli", "operations", "render", "model", "emulator"]);

describe("dependency rule", () => {
  it("finds the sources it checks", () => {
    expect(files.filter((f) => f.name.startsWith("operations/")).length).toBeGreaterThanOrEqual(5);
    expect(importsOf(join(SRC, "cli", "commands", "apply-run.ts"))).toContain("operations/apply.js");
  });

  it("nothing outside src/cli imports src/cli; operations and the engine import no renderer", () => {
    const offences = files.flatMap((f) =>
      importsOf(f.path)
        .filter((target) => layer(f.name) !== "cli" && (layer(target) === "cli" || (layer(f.name) !== "render" && layer(target) === "render")))
        .map((target) => `${f.name} imports ${target}`),
    );
    expect(offences).toEqual([]);
  });

  it("CLI commands only call operations and render: no engine module is imported directly", () => {
    const offences = files
      .filter((f) => layer(f.name) === "cli")
      .flatMap((f) => importsOf(f.path).filter((t) => !CLI_LAYERS.has(layer(t)) && !CLI_MAY_ALSO_IMPORT.has(t)).map((t) => `${f.name} imports ${t} (move the orchestration into src/operations)`));
    expect(offences).toEqual([]);
  });

  it("the engine's lower layers never import the layers above them", () => {
    // model/ and util/ are the floor; sources/, state/, dbt/ and destinations/ serve plan/,
    // apply/ and config/ and import none of them (config/ loads dbt/, never the reverse).
    const above = new Set(["plan", "apply", "operations", "config", "cli", "render"]);
    const lower = new Set(["model", "util", "sources", "state", "dbt", "destinations"]);
    // coho.lock's own JSON errors are located with the YAML locator (config/locate.ts reads no config).
    const allowed = new Set(["state/lockfile.ts imports config/locate.js"]);
    const offences = files
      .filter((f) => lower.has(layer(f.name)))
      .flatMap((f) => importsOf(f.path).filter((t) => above.has(layer(t))).map((t) => `${f.name} imports ${t}`))
      .filter((offence) => !allowed.has(offence));
    expect(offences).toEqual([]);
    const floor = files.filter((f) => ["model", "util"].includes(layer(f.name))).flatMap((f) => importsOf(f.path).filter((t) => !["model", "util"].includes(layer(t))).map((t) => `${f.name} imports ${t}`));
    expect(floor).toEqual([]);
  });

  it("one folder per source engine: only sources/open-sources.ts names an engine's folder outside sources/", () => {
    // The planner reaches a warehouse through Source and its PushDownTarget (sources/dialect.ts), never its folder.
    const engineFolder = /^sources\/(duckdb|postgres|bigquery|snowflake|redshift)\//;
    const offences = files
      .filter((f) => ["plan", "apply", "operations"].includes(layer(f.name)))
      .flatMap((f) => importsOf(f.path).filter((t) => engineFolder.test(t) && !/^sources\/postgres\/postgres-source\.js$/.test(t)).map((t) => `${f.name} imports ${t}`));
    expect(offences).toEqual([]);
  });

  it("only src/cli exits, reads stdin or touches the TTY; operations read no process.env", () => {
    const offences: string[] = [];
    for (const f of files) {
      const text = readFileSync(f.path, "utf8");
      if (layer(f.name) !== "cli") {
        for (const pattern of [/process\.exit\b/, /process\.stdin\b/, /process\.stdout\b/, /process\.stderr\b/, /\bconsole\.(log|error|warn|info)\b/]) {
          if (pattern.test(text)) offences.push(`${f.name}: ${pattern.source}`);
        }
      }
      if (layer(f.name) === "operations" && /process\.env\b/.test(text)) offences.push(`${f.name}: process.env`);
    }
    expect(offences).toEqual([]);
  });
});
