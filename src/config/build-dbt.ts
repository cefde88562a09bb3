import { resolve } from "node:path";
import { ALLOW_PATHS_ENV } from "../model/allow-paths.js";
import { hiddenWithin, insideReal } from "../util/inside.js";
import { optedIn } from "./build-connections.js";
import type { TrustedSettings } from "./load-project.js";
import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";
import type { DbtNodeRef, DbtSettings, ModelConfig, SourceConfig } from "../model/project.js";
import { isManifestProblem, readManifest, type DbtManifest } from "../dbt/manifest.js";
import { relationFor } from "../dbt/relation.js";
import { resolveRef, splitModelName } from "../dbt/resolve.js";
import { hasTemplate, resolveTemplate, type DbtDependency } from "../dbt/template.js";
import type { Entry } from "./collect-entries.js";
import type { EnvLookup } from "./env.js";
import type { LoadedFile } from "./load-file.js";
import { locate, locateScalarText } from "./locate.js";
import { didYouMean } from "../util/suggest.js";
import { sqlLocation } from "../sources/source-error.js";

/** The manifest override for CI, where dbt writes target/ somewhere else. */
export const MANIFEST_ENV = "COHO_DBT_MANIFEST";

/** What model building needs from the `dbt:` setting. */
export interface DbtContext {
  readonly settings: DbtSettings;
  /** Undefined when the manifest could not be read (already reported once). */
  readonly manifest: DbtManifest | undefined;
}

type Raw = Record<string, unknown>;

/**
 * Reads coho.yaml's `dbt:` setting and the manifest it names. Problems become
 * diagnostics at the setting. The manifest is confined like model files: a path
 * outside the project (links resolved) or under a hidden entry needs
 * `allow_outside_project` and, because coho.yaml is what a pull request edits,
 * the pipeline's opt-in too: COHO_DBT_MANIFEST from the real environment (not
 * `.env`), `--allow-path` or COHO_ALLOW_PATHS.
 */
export function loadDbt(root: LoadedFile, projectDir: string, env: EnvLookup, trusted: TrustedSettings, sourceNames: readonly string[], diagnostics: Diagnostic[]): DbtContext | undefined {
  const data = root.data?.dbt;
  if (!data || !root.yaml) return undefined;
  const yaml = root.yaml;
  const fromEnv = env(MANIFEST_ENV);
  const written = fromEnv !== undefined && fromEnv !== "" ? fromEnv : data.manifest;
  const at = locate(yaml, ["dbt", "manifest"]);
  const shown = fromEnv ? `${written} (from ${MANIFEST_ENV})` : written;
  const error = (code: string, message: string, location: SourceLocation = at) => diagnostics.push({ severity: "error", code, message, location });
  let source = data.source;
  if (source !== undefined && !sourceNames.includes(source)) {
    const known = sourceNames.length === 0 ? " (none is declared)" : didYouMean(source, sourceNames);
    error("config.unknown_reference", `dbt.source: no source \`${source}\` is declared${known}`, locate(yaml, ["dbt", "source"]));
    source = undefined;
  } else if (source === undefined && sourceNames.length === 1) source = sourceNames[0];
  const path = resolve(projectDir, written);
  const settings: DbtSettings = { manifestPath: path, source, owner: data.owner, projectName: undefined, origin: locate(yaml, ["dbt"], "key") };
  if (!insideReal(projectDir, path) || hiddenWithin(projectDir, path)) {
    const fromPipeline = fromEnv !== undefined && fromEnv !== "" && trusted.realEnv[MANIFEST_ENV] === fromEnv;
    if (data.allow_outside_project !== true) {
      error("dbt.manifest_outside_project", `dbt manifest ${shown} is outside the project folder or hidden (a link out counts as outside); set \`dbt.allow_outside_project: true\` to read it there`);
      return { settings, manifest: undefined };
    }
    if (!fromPipeline && !optedIn(trusted.allowPaths, path)) {
      error("dbt.manifest_outside_project", `dbt manifest ${shown} is outside the project folder or hidden (a link out counts as outside), and coho.yaml alone cannot widen what coho reads: opt in from outside the configuration, where a pull request cannot, with --allow-path ${path}, ${ALLOW_PATHS_ENV} or ${MANIFEST_ENV} set by the pipeline`);
      return { settings, manifest: undefined };
    }
  }
  const manifest = readManifest(path, shown);
  if (!isManifestProblem(manifest)) return { settings: { ...settings, projectName: manifest.projectName }, manifest };
  const location = manifest.position ? { file: path, line: manifest.position.line, column: manifest.position.column } : at;
  diagnostics.push({ severity: "error", code: manifest.code, message: manifest.message, location, ...(manifest.position ? { related: at } : {}) });
  return { settings, manifest: undefined };
}

/** A `dbt: name` model: it selects from the relation dbt built for that node. */
export function buildDbtModel(entry: Entry<Raw>, source: string | undefined, sourceType: SourceConfig["type"], dbt: DbtContext | undefined, diagnostics: Diagnostic[]): ModelConfig | undefined {
  const { name, value, file, origin } = entry;
  const written = String(value.dbt);
  const at = locateScalarText(file.yaml, ["models", name, "dbt"]);
  const located = { ...at, length: written.length };
  if (!dbt) {
    diagnostics.push({ severity: "error", code: "dbt.no_manifest", message: `models.${name}.dbt needs the \`dbt:\` setting in coho.yaml, naming dbt's manifest (dbt: { manifest: target/manifest.json })`, location: located });
    return undefined;
  }
  if (!dbt.manifest || source === undefined) return undefined;
  const { packageName, name: modelName } = splitModelName(written);
  const resolved = resolveRef(dbt.manifest, modelName, packageName);
  if ("problem" in resolved) {
    diagnostics.push({ severity: "error", code: resolved.problem.code, message: `models.${name}.dbt: ${resolved.problem.message}`, location: located });
    return undefined;
  }
  const dependency: DbtDependency = { kind: "ref", node: resolved.node, relation: relationFor(resolved.node, sourceType) };
  const ref = toRef(dependency, located);
  const primaryKey = typeof value.primary_key === "string" ? value.primary_key : undefined;
  return { name, source, primaryKey, sql: `select * from ${ref.relation}`, sqlOrigin: located, origin, dbt: { model: ref, dependsOn: [ref] } };
}

/** Resolves ref()/source() in a SQL model; anything else in {{ }} is a located error. */
export function resolveModelTemplate(model: ModelConfig, sourceType: SourceConfig["type"], dbt: DbtContext | undefined, diagnostics: Diagnostic[]): ModelConfig | undefined {
  if (!hasTemplate(model.sql)) return model;
  if (dbt && !dbt.manifest) return undefined; // the manifest's own error is reported once
  const resolved = resolveTemplate(model.sql, dbt?.manifest, sourceType);
  const where = (offset: number, length: number): SourceLocation => {
    const before = model.sql.slice(0, offset).split("\n");
    return { ...sqlLocation(model, before.length, (before[before.length - 1] ?? "").length + 1), length };
  };
  for (const problem of resolved.problems) {
    diagnostics.push({ severity: "error", code: problem.code, message: `models.${model.name}: ${problem.message}`, location: where(problem.offset, problem.length) });
  }
  if (resolved.problems.length > 0) return undefined;
  const dependsOn = resolved.dependencies.map((d) => toRef(d, model.sqlOrigin));
  return { ...model, sql: resolved.sql, dbt: { model: undefined, dependsOn } };
}

function toRef(dependency: DbtDependency, origin: SourceLocation): DbtNodeRef {
  const { node, relation } = dependency;
  return {
    kind: dependency.kind,
    uniqueId: node.uniqueId,
    name: node.name,
    packageName: node.packageName,
    ...(dependency.kind === "source" ? { sourceName: dependency.node.sourceName } : {}),
    checksum: node.checksum,
    relation,
    compiledCode: dependency.kind === "ref" ? dependency.node.compiledCode : undefined,
    origin,
  };
}
