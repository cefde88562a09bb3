import type { Diagnostic } from "../model/diagnostic.js";
import type { Secret } from "../model/secret.js";
import type { ConfigData } from "./config-data.js";
import type { EnvLookup } from "./env.js";
import { interpolateDocument, type SecretNeeds } from "./interpolate-document.js";
import { readYamlFile, toData, type YamlFile } from "./read-yaml.js";
import { validateSchema } from "./validate-schema.js";

/** What one config file contributes, once read, interpolated and schema-checked. */
export interface LoadedFile {
  readonly path: string;
  /** The source text, for code frames (never holds a secret: secrets are references). */
  readonly text: string | undefined;
  readonly yaml: YamlFile | undefined;
  /** The data, present only when the file passed every check so far. */
  readonly data: ConfigData | undefined;
  readonly secrets: ReadonlyMap<string, Secret>;
  readonly diagnostics: readonly Diagnostic[];
}

export function loadFile(path: string, env: EnvLookup, needs?: SecretNeeds): LoadedFile {
  const read = readYamlFile(path);
  if (!read.ok) return { path, text: read.text, yaml: undefined, data: undefined, secrets: new Map(), diagnostics: read.diagnostics };
  const yaml = read.file;
  const { secrets, diagnostics } = interpolateDocument(yaml, env, needs);
  const converted = toData(yaml);
  if (!converted.ok) return { path, text: yaml.text, yaml, data: undefined, secrets, diagnostics: [...diagnostics, converted.diagnostic] };
  // An empty file (or one of comments only) is an empty configuration.
  const data = converted.value ?? {};
  const schemaDiagnostics = validateSchema(yaml, data);
  diagnostics.push(...schemaDiagnostics);
  // Missing variables do not change the shape: later checks still run on the data.
  const ok = schemaDiagnostics.length === 0;
  return { path, text: yaml.text, yaml, data: ok ? (data as ConfigData) : undefined, secrets, diagnostics };
}
