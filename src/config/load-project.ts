import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { hasErrors, type Diagnostic } from "../model/diagnostic.js";
import type { EnvironmentInfo, Project, SourceConfig } from "../model/project.js";
import { defaultStateSchema } from "../model/state-files.js";
import { applyEnvironment, type EnvironmentOverlay } from "./environments.js";
import type { Secret } from "../model/secret.js";
import { DEFAULT_SOURCE, buildCohort, buildIdentifier, buildIdentifierList, buildModel, buildMoved } from "./build-audiences.js";
import { buildDestination, buildSource, buildState, checkSnapshotSource } from "./build-connections.js";
import { targetOf, validateCohortsByRoad } from "../destinations/roads.js";
import { loadDbt } from "./build-dbt.js";
import { checkSharedCohortIds } from "./check-cohort-ids.js";
import { collectEntries } from "./collect-entries.js";
import { envFileProblem, projectEnv, type EnvLookup } from "./env.js";
import type { SecretNeeds } from "./interpolate-document.js";
import { includePatternProblem } from "./include-pattern.js";
import { loadFile, type LoadedFile } from "./load-file.js";
import { hiddenWithin, insideReal } from "../util/inside.js";
import { locate } from "./locate.js";
import { rememberSecret } from "../model/redaction.js";
import { carriesSecret, declaredVars, resolveVars, type VarLayer } from "./vars.js";

export const CONFIG_FILE = "coho.yaml";

export interface LoadOptions {
  /** The environment to interpolate from; `.env` beside coho.yaml fills the gaps. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Which secrets may stay unset (default: all required). validate and plan pass
   * "optional" for destinations and the state URL: they never call Braze.
   */
  readonly secrets?: SecretNeeds;
  /**
   * Paths outside the project (or hidden inside it) the configuration may open,
   * absolute: the opt-in from outside the reviewed configuration (`--allow-path`,
   * COHO_ALLOW_PATHS). A pull request edits coho.yaml, never these.
   */
  readonly allowPaths?: readonly string[];
  /** Values for the variables declared under `vars:`, by name, as given (`--var name=value`). */
  readonly vars?: Readonly<Record<string, string>>;
  /** The environment of `environments:` to load (`--env`, COHO_ENV); default: the one marked `default: true`. */
  readonly environment?: string;
}

export interface LoadResult {
  /** Present only when there is no error (warnings allowed). */
  readonly project: Project | undefined;
  readonly diagnostics: readonly Diagnostic[];
  /** Text of every file read, by absolute path, for code frames. */
  readonly texts: ReadonlyMap<string, string>;
  /** Every secret resolved, even when the project has errors: callers redact them. */
  readonly secrets: readonly Secret[];
}

/**
 * Loads coho.yaml and its includes into a typed Project. User errors come back as
 * diagnostics, all of them, never as exceptions.
 */
export function loadProject(dir: string, options: LoadOptions = {}): LoadResult {
  const projectDir = resolve(dir);
  const configFile = join(projectDir, CONFIG_FILE);
  if (!existsSync(configFile)) {
    const message = `no ${CONFIG_FILE} in ${projectDir}; run \`coho init\` to create a project, or pass -C DIR`;
    return { project: undefined, diagnostics: [{ severity: "error", code: "config.not_found", message }], texts: new Map(), secrets: [] };
  }
  // A link out would show another file's lines in the code frames of its syntax errors.
  if (!insideReal(projectDir, configFile) || hiddenWithin(projectDir, configFile)) {
    const message = `${CONFIG_FILE} is a link to a file outside the project folder or under a hidden entry; coho reads only the project's own files`;
    return { project: undefined, diagnostics: [{ severity: "error", code: "config.path_outside_project", message, location: { file: configFile, line: 1, column: 1 } }], texts: new Map(), secrets: [] };
  }
  const envProblem = envFileProblem(projectDir, join(projectDir, ".env"));
  if (envProblem) {
    const message = `.env ${envProblem}; coho reads .env only as a regular file of the project (the pipeline's own variables belong in the job's environment)`;
    return { project: undefined, diagnostics: [{ severity: "error", code: "config.env_file_invalid", message, location: { file: join(projectDir, ".env"), line: 1, column: 1 } }], texts: new Map(), secrets: [] };
  }
  const env = projectEnv(join(projectDir, ".env"), options.env ?? process.env);
  const layers: VarLayer[] = options.vars && Object.keys(options.vars).length > 0 ? [{ origin: "--var", values: options.vars }] : [];
  let overlay: EnvironmentOverlay = { info: undefined, vars: {}, diagnostics: [] };
  const root = loadFile(configFile, env, options.secrets, (yaml, found) => {
    // The chosen environment is laid over the document first: its `vars:` values
    // sit between the declared defaults and --var (the command line wins).
    overlay = applyEnvironment(yaml, options.environment);
    found.push(...overlay.diagnostics);
    const environmentLayer: VarLayer[] = overlay.info && Object.keys(overlay.vars).length > 0 ? [{ origin: `environments.${overlay.info.name}.vars`, values: overlay.vars }] : [];
    return resolveVars(yaml, declaredVars(yaml), [...environmentLayer, ...layers], found);
  });
  const diagnostics: Diagnostic[] = [...root.diagnostics];
  checkRoot(root, diagnostics);
  const includes = includedFiles(projectDir, root, diagnostics).map((path) => loadFile(path, env, options.secrets, root.vars));
  for (const file of includes) {
    diagnostics.push(...file.diagnostics);
    checkInclude(file, diagnostics);
  }
  const files = [root, ...includes];
  const resolvedSecrets = files.flatMap((f) => [...f.secrets.values(), ...(f.exposed ?? [])]).filter((s) => s.resolved);
  // Known from here on to every place where a driver's or a server's text enters a message (redactKnown).
  for (const secret of resolvedSecrets) rememberSecret(secret.reveal());
  const texts = new Map(files.filter((f) => f.text !== undefined).map((f) => [f.path, f.text as string]));
  // A variable carrying a secret has been interpolated already: say only that, nothing that may hold it.
  // Environment values of connection settings count only when long enough to be a credential: a variable
  // may well repeat a short setting (a schema or partner name) the pipeline also passes.
  const credentials = [...files.flatMap((f) => [...f.secrets.values()]), ...files.flatMap((f) => f.exposed ?? []).filter((s) => s.resolved && s.reveal().length >= 12)].filter((s) => s.resolved);
  const tainted = [...root.vars.values].filter(([, value]) => carriesSecret(value, credentials));
  if (tainted.length > 0 && root.yaml) {
    const refused = tainted.map(([name]): Diagnostic => ({
      severity: "error",
      code: "config.var_secret",
      message: `vars.${name}: its value carries a secret coho resolved from the environment (as it is or in another form); secrets never reach SQL, names, labels or attribute names: pass a value that is not a secret`,
      location: locate(root.yaml!, ["vars", name], "key"),
    }));
    return { project: undefined, diagnostics: refused, texts, secrets: resolvedSecrets };
  }
  const trusted: TrustedSettings = { allowPaths: options.allowPaths ?? [], realEnv: options.env ?? process.env };
  const project = assemble(projectDir, configFile, files, env, trusted, diagnostics, overlay.info);
  return { project: hasErrors(diagnostics) ? undefined : project, diagnostics: sortDiagnostics(diagnostics), texts, secrets: resolvedSecrets };
}

/** What the pipeline says from outside the reviewed configuration (never from `.env`). */
export interface TrustedSettings {
  readonly allowPaths: readonly string[];
  readonly realEnv: Readonly<Record<string, string | undefined>>;
}

function assemble(projectDir: string, configFile: string, files: LoadedFile[], env: EnvLookup, trusted: TrustedSettings, diagnostics: Diagnostic[], environment: EnvironmentInfo | undefined): Project {
  const entries = collectEntries(projectDir, files, diagnostics);
  const sources = new Map<string, SourceConfig>();
  for (const entry of entries.sources.values()) {
    const source = buildSource(entry, projectDir, trusted.allowPaths, diagnostics);
    if (source) sources.set(entry.name, source);
  }
  const sourceNames = [...entries.sources.keys(), ...entries.broken.sources];
  const destinations = new Map([...entries.destinations.values()].flatMap((e) => {
    const destination = buildDestination(e, diagnostics);
    return destination ? [[e.name, destination] as const] : [];
  }));
  const dbt = loadDbt(files[0]!, projectDir, env, trusted, sourceNames, diagnostics);
  if (dbt?.manifest && dbt.settings.source !== undefined) {
    // Relations compiled for another engine (quoting, casing, functions) would mislead the source that reads them.
    const sourceType = sources.get(dbt.settings.source)?.type;
    const adapter = dbt.manifest.adapterType;
    if (sourceType !== undefined && adapter !== undefined && adapter !== sourceType) {
      diagnostics.push({
        severity: "warning",
        code: "dbt.adapter_mismatch",
        message: `the dbt manifest was built with the ${adapter} adapter, but source ${dbt.settings.source} is ${sourceType}: relation names and compiled SQL may not fit it (build the manifest with the target that points at this source)`,
        location: dbt.settings.origin,
      });
    }
  }
  const modelContext = { projectDir, sourceNames, sourceType: (name: string) => sources.get(name)?.type, dbt };
  const models = new Map([...entries.models.values()].flatMap((e) => {
    const model = buildModel(e, modelContext, diagnostics);
    return model ? [[e.name, model] as const] : [];
  }));
  if ([...models.values()].some((m) => m.source === DEFAULT_SOURCE) && !sources.has(DEFAULT_SOURCE)) {
    sources.set(DEFAULT_SOURCE, { type: "duckdb", name: DEFAULT_SOURCE, path: undefined, origin: { file: configFile, line: 1, column: 1 } });
  }
  const identifiers = new Map([...entries.identifiers.values()].map((e) => [e.name, buildIdentifier(e)] as const));
  // Entries with schema errors of their own are reported already; references to them are not errors too.
  const known = {
    models: [...entries.models.keys(), ...entries.broken.models],
    identifiers: [...entries.identifiers.keys(), ...entries.broken.identifiers],
    destinations: [...entries.destinations.keys(), ...entries.broken.destinations],
  };
  const cohorts = new Map([...entries.cohorts.values()].flatMap((e) => {
    const cohort = buildCohort(e, known, diagnostics);
    return cohort ? [[e.name, cohort] as const] : [];
  }));
  const fileOf = new Map(files.map((f) => [f.path, f]));
  // Lists of identifiers (`identifier: [uid, email]`) become identifiers of their own, named `[uid, email]`.
  for (const cohort of cohorts.values()) {
    if (!cohort.identifierList || identifiers.has(cohort.identifier)) continue;
    const yaml = fileOf.get(cohort.origin.file)?.yaml;
    const built = buildIdentifierList(cohort.identifierList, identifiers, (yaml ? locate(yaml, ["cohorts", cohort.key, "identifier"]) : undefined) ?? cohort.origin);
    if (built.identifier) identifiers.set(cohort.identifier, built.identifier);
    if (built.diagnostic) diagnostics.push(built.diagnostic);
  }
  // Road-specific rules (identifier kinds, attribute bindings) live with each road.
  diagnostics.push(...validateCohortsByRoad(destinations, [...cohorts.values()], identifiers, (cohort, field) => {
    const yaml = fileOf.get(cohort.origin.file)?.yaml;
    return yaml ? locate(yaml, ["cohorts", cohort.key, field]) : cohort.origin;
  }));
  for (const [key, cohort] of cohorts) {
    const destination = destinations.get(cohort.destination);
    const target = destination ? targetOf(destination, cohort) : undefined;
    if (target !== undefined) cohorts.set(key, { ...cohort, target });
  }
  checkSharedCohortIds(projectDir, [...cohorts.values()].sort((a, b) => compareOrigins(a.origin, b.origin, files)), diagnostics);
  const setKeys = [...cohorts.values()].filter((c) => c.forEach).map((c) => c.key);
  const moved = buildMoved(files, [...entries.cohorts.keys(), ...entries.broken.cohorts], setKeys, diagnostics);
  const state = buildState(files[0]!, diagnostics, defaultStateSchema(environment)) ?? { backend: "local" as const };
  checkSnapshotSource(state, sources, sourceNames, diagnostics);
  return {
    dir: projectDir, configFile, files: files.map((f) => f.path), state, ...(dbt ? { dbt: dbt.settings } : {}),
    ...(environment ? { environment } : {}),
    sources, destinations, models, identifiers, cohorts, moved,
  };
}

/** Read order: coho.yaml, then includes in sorted order; then by line. */
function compareOrigins(a: { file: string; line: number }, b: { file: string; line: number }, files: readonly LoadedFile[]): number {
  const index = (file: string) => files.findIndex((f) => f.path === file);
  return index(a.file) - index(b.file) || a.line - b.line;
}

/** coho.yaml must say which language version it speaks. */
function checkRoot(root: LoadedFile, diagnostics: Diagnostic[]): void {
  if (root.data && root.data.version === undefined) {
    diagnostics.push({
      severity: "error",
      code: "config.version_missing",
      message: `${CONFIG_FILE} must declare \`version: 1\` at the top level`,
      location: { file: root.path, line: 1, column: 1 },
    });
  }
}

/** Included files carry sections only: state, include and dbt belong to coho.yaml. */
function checkInclude(file: LoadedFile, diagnostics: Diagnostic[]): void {
  if (!file.data || !file.yaml) return;
  for (const key of ["state", "include", "dbt", "vars"] as const) {
    if (file.data[key] === undefined) continue;
    diagnostics.push({
      severity: "error",
      code: "config.include_section",
      message: `\`${key}\` may only appear in ${CONFIG_FILE}, not in an included file`,
      location: locate(file.yaml, [key], "key"),
    });
  }
}

function includedFiles(projectDir: string, root: LoadedFile, diagnostics: Diagnostic[]): string[] {
  const patterns = root.data?.include ?? [];
  const found = new Set<string>();
  patterns.forEach((pattern, index) => {
    const problem = includePatternProblem(pattern);
    if (problem) {
      if (root.yaml) diagnostics.push({
        severity: "error",
        code: "config.path_outside_project",
        message: `include pattern \`${pattern}\` ${problem}; included files must be inside the project folder, not under a hidden entry such as .git/ (checked after \${var:…} substitution, before any folder is read)`,
        location: locate(root.yaml, ["include", index]),
      });
      return;
    }
    // tinyglobby loads only for projects that have includes (start-up cost otherwise).
    const { globSync } = createRequire(import.meta.url)("tinyglobby") as typeof import("tinyglobby");
    // Links are not followed into folders: a link inside the project never makes the glob walk outside it.
    const matches = globSync(pattern, { cwd: projectDir, absolute: true, onlyFiles: true, dot: false, followSymbolicLinks: false }).sort();
    if (matches.length === 0 && root.yaml) {
      diagnostics.push({
        severity: "warning",
        code: "config.include_empty",
        message: `include pattern \`${pattern}\` matches no file`,
        location: locate(root.yaml, ["include", index]),
      });
    }
    const outside = matches.filter((match) => !insideReal(projectDir, match) || hiddenWithin(projectDir, match));
    if (outside.length > 0 && root.yaml) {
      diagnostics.push({
        severity: "error",
        code: "config.path_outside_project",
        // Not named: through a link, the names would list a folder outside the project.
        message: `include pattern \`${pattern}\` matches ${outside.length} file(s) that lead outside the project folder or under a hidden entry (through a symbolic link); included files must be inside it, not under a hidden entry such as .git/`,
        location: locate(root.yaml, ["include", index]),
      });
    }
    for (const match of matches) if (resolve(match) !== root.path && !outside.includes(match)) found.add(resolve(match));
  });
  return [...found].sort();
}

/** Files in read order, then by position; located before unlocated. */
function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => {
    const fa = a.location?.file ?? "";
    const fb = b.location?.file ?? "";
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0);
  });
}
