import type { Diagnostic } from "../model/diagnostic.js";
import type { Secret } from "../model/secret.js";
import type { ConfigData } from "./config-data.js";
import type { EnvLookup } from "./env.js";
import { interpolateDocument, type SecretNeeds } from "./interpolate-document.js";
import { readYamlFile, toData, type YamlFile } from "./read-yaml.js";
import { NO_VARS, type VarScope } from "./vars.js";
import { SECTIONS } from "./sections.js";
import { invalidEntries, validateSchema } from "./validate-schema.js";

/** What one config file contributes, once read, interpolated and schema-checked. */
export interface LoadedFile {
  readonly path: string;
  /** The source text, for code frames (never holds a secret: secrets are references). */
  readonly text: string | undefined;
  readonly yaml: YamlFile | undefined;
  /** The data, present only when the file passed every check so far. */
  readonly data: ConfigData | undefined;
  /**
   * With schema errors: the sections' entries that are valid on their own, so
   * their references are still checked in this pass; `broken` names the entries
   * (`section.name`) left out, which still count as declared.
   */
  readonly partial?: { readonly data: ConfigData; readonly broken: ReadonlySet<string> };
  readonly secrets: ReadonlyMap<string, Secret>;
  readonly diagnostics: readonly Diagnostic[];
  /** The variables its `${var:…}` references were resolved from. */
  readonly vars: VarScope;
  /** Environment values read by connection settings that could be credentials: redacted like secrets. */
  readonly exposed?: readonly Secret[];
}

/**
 * `vars` gives the variables `${var:name}` may name: coho.yaml declares them, so
 * for it this is a function of its own document (run before any interpolation).
 */
export function loadFile(path: string, env: EnvLookup, needs: SecretNeeds | undefined, vars: VarScope | ((yaml: YamlFile, diagnostics: Diagnostic[]) => VarScope)): LoadedFile {
  const read = readYamlFile(path);
  if (!read.ok) return { path, text: read.text, yaml: undefined, data: undefined, secrets: new Map(), diagnostics: read.diagnostics, vars: NO_VARS };
  const yaml = read.file;
  const varDiagnostics: Diagnostic[] = [];
  const scope = typeof vars === "function" ? vars(yaml, varDiagnostics) : vars;
  const interpolated = interpolateDocument(yaml, env, needs, scope);
  const secrets = interpolated.secrets;
  const exposed = interpolated.exposed;
  const diagnostics = [...varDiagnostics, ...interpolated.diagnostics];
  const converted = toData(yaml);
  if (!converted.ok) return { path, text: yaml.text, yaml, data: undefined, secrets, exposed, diagnostics: [...diagnostics, converted.diagnostic], vars: scope };
  // An empty file (or one of comments only) is an empty configuration.
  const data = converted.value ?? {};
  // A value left as written because its reference failed is reported there once, not again by the schema.
  const failedLines = new Set(diagnostics.filter((d) => d.severity === "error" && d.location).map((d) => d.location!.line));
  const schemaDiagnostics = validateSchema(yaml, data);
  diagnostics.push(...schemaDiagnostics.filter((d) => !(d.location && failedLines.has(d.location.line))));
  // Missing variables do not change the shape: later checks still run on the data.
  if (schemaDiagnostics.length === 0) return { path, text: yaml.text, yaml, data: data as ConfigData, secrets, exposed, diagnostics, vars: scope };
  return { path, text: yaml.text, yaml, data: undefined, partial: validPart(data), secrets, exposed, diagnostics, vars: scope };
}

/** The entries of each section that hold no schema error themselves. */
function validPart(data: unknown): LoadedFile["partial"] {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const invalid = invalidEntries(data, SECTIONS);
  const part: Record<string, Record<string, unknown>> = {};
  const broken = new Set<string>();
  for (const section of SECTIONS) {
    const values = (data as Record<string, unknown>)[section];
    if (invalid.sections.has(section) || typeof values !== "object" || values === null || Array.isArray(values)) continue;
    part[section] = {};
    for (const [name, value] of Object.entries(values)) {
      if (invalid.entries.has(`${section}.${name}`)) broken.add(`${section}.${name}`);
      else part[section][name] = value;
    }
  }
  return { data: part as ConfigData, broken };
}
