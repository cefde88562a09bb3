import { Pair, isMap, isPair, isScalar, type Scalar, type YAMLMap } from "yaml";
import type { Diagnostic } from "../model/diagnostic.js";
import type { EnvironmentInfo } from "../model/project.js";
import { didYouMean } from "../util/suggest.js";
import { locate } from "./locate.js";
import { validateSchema } from "./validate-schema.js";
import { defaultStateSchema } from "../model/state-files.js";
import type { YamlFile } from "./read-yaml.js";

/**
 * `environments:` in coho.yaml: named overlays (staging, production) on the one
 * configuration. The chosen environment's settings are laid over the base
 * document before anything else reads it, node by node, so every later stage
 * (interpolation, schema, references) sees one ordinary configuration, and a
 * value that came from the overlay still points at its own line in the
 * `environments:` block. Only the chosen environment's `${env:…}` references are
 * ever resolved: staging never needs production's keys.
 */

/** Entries an environment may override, by section; only entries coho.yaml itself declares. */
const ENTRY_SECTIONS = ["destinations", "sources", "cohorts"] as const;
/** Settings an environment may lay over as a whole block. */
const BLOCKS = ["state", "dbt"] as const;

export interface EnvironmentOverlay {
  /** The chosen environment, or undefined when the project declares none. */
  readonly info: EnvironmentInfo | undefined;
  /** `vars:` values the chosen environment sets (a `--var` given on the command line wins). */
  readonly vars: Readonly<Record<string, string>>;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Checks every environment of the root file and lays the chosen one (`requested`,
 * else the one marked `default: true`) over the document, removing the
 * `environments:` block. Mutates `file.doc`.
 */
export function applyEnvironment(file: YamlFile, requested: string | undefined): EnvironmentOverlay {
  const root = file.doc.contents;
  const pair = isMap(root) ? root.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === "environments") : undefined;
  const diagnostics: Diagnostic[] = [];
  if (!pair || !isMap(pair.value)) {
    if (requested !== undefined) {
      diagnostics.push({
        severity: "error",
        code: "config.environment_unknown",
        message: `environment \`${shownName(requested)}\` was asked for (--env or COHO_ENV), but coho.yaml declares no \`environments:\` (declare them, see docs/environments.md, or drop --env / COHO_ENV)`,
        location: { file: file.path, line: 1, column: 1 },
      });
    }
    return { info: undefined, vars: {}, diagnostics };
  }
  try {
    return chooseAndOverlay(file, root as YAMLMap, pair.value as YAMLMap, requested);
  } finally {
    // The block leaves the document whatever happens: only the chosen overlay's
    // values (and their \${env:…} references) may reach interpolation.
    (root as YAMLMap).items.splice((root as YAMLMap).items.indexOf(pair), 1);
  }
}

function chooseAndOverlay(file: YamlFile, root: YAMLMap, block: YAMLMap, requested: string | undefined): EnvironmentOverlay {
  const diagnostics: Diagnostic[] = [];
  const shape = validateSchema(file, { version: 1, environments: block.toJSON() });
  if (shape.length > 0) return { info: undefined, vars: {}, diagnostics: shape };
  const environments = block.items.filter(isPair).map((p) => ({ name: String((p.key as Scalar).value), pair: p as Pair<Scalar, unknown> }));
  const names = environments.map((e) => e.name);
  for (const environment of environments) checkEnvironment(file, environment.name, environment.pair.value, diagnostics);
  const defaults = environments.filter((e) => isMap(e.pair.value) && (e.pair.value as YAMLMap).get("default") === true);
  if (defaults.length > 1) {
    diagnostics.push({
      severity: "error",
      code: "config.environment_default",
      message: `more than one environment is marked \`default: true\` (${defaults.map((d) => d.name).join(", ")}); mark at most one`,
      location: locate(file, ["environments", defaults[1]!.name, "default"]),
    });
  }
  checkDistinct(file, environments.map((e) => ({ name: e.name, value: e.pair.value, isDefault: defaults[0]?.name === e.name })), diagnostics);
  const chosenName = requested ?? defaults[0]?.name;
  if (chosenName === undefined) {
    diagnostics.push({
      severity: "error",
      code: "config.environment_required",
      message: `coho.yaml declares environments (${names.join(", ")}) and none is the default: say which with --env NAME or COHO_ENV, or mark one \`default: true\``,
      location: locate(file, ["environments"], "key"),
    });
    return { info: undefined, vars: {}, diagnostics };
  }
  const chosen = environments.find((e) => e.name === chosenName);
  if (!chosen) {
    diagnostics.push({
      severity: "error",
      code: "config.environment_unknown",
      message: chosenName.trim() === ""
        ? `--env was given an empty name (an unset variable in the pipeline?): name one of ${names.map((n) => `\`${n}\``).join(", ")}, or leave --env out for the default`
        : `unknown environment \`${shownName(chosenName)}\`; coho.yaml declares ${names.map((n) => `\`${n}\``).join(", ")}${didYouMean(chosenName, names)}`,
      location: locate(file, ["environments"], "key"),
    });
    return { info: undefined, vars: {}, diagnostics };
  }
  const vars = diagnostics.length === 0 ? overlay(root, chosen.pair.value as YAMLMap) : {};
  return {
    info: { name: chosen.name, names, isDefault: defaults[0]?.name === chosen.name },
    vars,
    diagnostics,
  };
}

/** Every override names an entry coho.yaml declares, so a typo is an error, not a silent no-op. */
function checkEnvironment(file: YamlFile, name: string, value: unknown, diagnostics: Diagnostic[]): void {
  if (!isMap(value)) return; // the schema reports the shape
  const base = file.doc.contents as YAMLMap;
  for (const section of ENTRY_SECTIONS) {
    const overrides = value.get(section);
    if (!isMap(overrides)) continue;
    const declared = base.get(section);
    const declaredNames = isMap(declared) ? declared.items.filter(isPair).map((p) => String((p.key as Scalar).value)) : [];
    for (const entry of overrides.items.filter(isPair)) {
      const entryName = String((entry.key as Scalar).value);
      if (declaredNames.includes(entryName)) continue;
      diagnostics.push({
        severity: "error",
        code: "config.environment_override_unknown",
        message: `environment \`${name}\` overrides ${section}.${entryName}, which coho.yaml does not declare${didYouMean(entryName, declaredNames)} (an environment can only change ${section} declared in coho.yaml itself, not in an included file)`,
        location: locate(file, ["environments", name, section, entryName], "key"),
      });
    }
  }
  const dbt = value.get("dbt");
  if (dbt !== undefined && !isMap(base.get("dbt"))) {
    diagnostics.push({
      severity: "error",
      code: "config.environment_override_unknown",
      message: `environment \`${name}\` overrides dbt, which coho.yaml does not declare (declare \`dbt:\` in coho.yaml first; an environment can change its manifest path)`,
      location: locate(file, ["environments", name, "dbt"], "key"),
    });
  }
}

/** Lays `environment` over `base` (maps merge key by key; anything else replaces); returns its vars. */
function overlay(base: YAMLMap, environment: YAMLMap): Record<string, string> {
  for (const section of ENTRY_SECTIONS) {
    const overrides = environment.get(section);
    if (!isMap(overrides)) continue;
    const declared = base.get(section) as YAMLMap;
    for (const entry of overrides.items.filter(isPair)) mergeInto(declared, entry.key as Scalar, entry.value);
  }
  for (const name of BLOCKS) {
    const override = environment.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === name);
    if (override && isPair(override)) mergeInto(base, override.key as Scalar, override.value);
  }
  const vars: Record<string, string> = {};
  const given = environment.get("vars");
  if (isMap(given)) for (const p of given.items.filter(isPair)) if (isScalar(p.value)) vars[String((p.key as Scalar).value)] = String(p.value.value);
  return vars;
}

function mergeInto(target: YAMLMap, key: Scalar, value: unknown): void {
  const existing = target.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key.value);
  if (existing && isMap(existing.value) && isMap(value)) {
    for (const inner of value.items.filter(isPair)) mergeInto(existing.value, inner.key as Scalar, inner.value);
    return;
  }
  if (existing) existing.value = value;
  else target.items.push(new Pair(key, value));
}

/**
 * Two environments that write to one Braze workspace, or keep their state in
 * one place, would undo each other's applies: refused. A workspace is a REST
 * endpoint with its key (as written, a reference, never its value).
 */
function checkDistinct(file: YamlFile, environments: readonly { name: string; value: unknown; isDefault: boolean }[], diagnostics: Diagnostic[]): void {
  const base = file.doc.contents as YAMLMap;
  const workspaces = new Map<string, string>();
  const states = new Map<string, string>();
  for (const environment of environments) {
    if (!isMap(environment.value)) continue;
    const effective = (section: string, entry: string, key: string): string | undefined => {
      const override = (environment.value as YAMLMap).getIn([section, entry, key]);
      const value = override ?? (base.getIn([section, entry, key]) as unknown);
      return value === undefined || value === null ? undefined : String(value);
    };
    const destinations = base.get("destinations");
    for (const entry of isMap(destinations) ? destinations.items.filter(isPair) : []) {
      const name = String((entry.key as Scalar).value);
      const endpoint = effective("destinations", name, "rest_endpoint");
      const key = effective("destinations", name, "api_key") ?? effective("destinations", name, "data_import_key");
      if (endpoint === undefined || key === undefined) continue;
      const identity = `${sameEndpoint(endpoint)} ${key}`;
      const other = workspaces.get(identity);
      if (other !== undefined && other !== environment.name) {
        diagnostics.push({
          severity: "error",
          code: "config.environment_shared_workspace",
          message: `environments \`${other}\` and \`${environment.name}\` both write destination ${name} to the Braze workspace at ${endpoint} with ${key.startsWith("${") ? `the same key ${key}` : "the same key (written in coho.yaml)"}: their applies would undo each other (give \`${environment.name}\` its own rest_endpoint or key under environments.${environment.name}.destinations.${name})`,
          location: locate(file, ["environments", environment.name], "key"),
        });
      } else workspaces.set(identity, environment.name);
    }
    const backend = String((environment.value as YAMLMap).getIn(["state", "backend"]) ?? base.getIn(["state", "backend"]) ?? "local");
    if (backend !== "postgres") continue;
    const url = String((environment.value as YAMLMap).getIn(["state", "url"]) ?? base.getIn(["state", "url"]) ?? "");
    const schema = String((environment.value as YAMLMap).getIn(["state", "schema"]) ?? base.getIn(["state", "schema"]) ?? defaultStateSchema(environment.isDefault ? undefined : { name: environment.name, names: [], isDefault: false }));
    // PostgreSQL cuts identifiers to 63 bytes: two longer schema names alike in
    // their first 63 are one schema.
    const place = `${url} ${Buffer.from(schema).subarray(0, 63).toString()}`;
    const other = states.get(place);
    if (other !== undefined) {
      diagnostics.push({
        severity: "error",
        code: "config.environment_shared_state",
        message: `environments \`${other}\` and \`${environment.name}\` keep their state in the same place (${url}, schema ${schema}): each environment needs its own (set environments.${environment.name}.state.schema, or leave schema unset for coho_${environment.name})`,
        location: locate(file, ["environments", environment.name], "key"),
      });
    } else states.set(place, environment.name);
  }
}

/**
 * One Braze endpoint however it is spelled: host names are case-insensitive,
 * and a trailing slash or the scheme's default port names the same workspace.
 */
function sameEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    return endpoint.replace(/\/+$/, "");
  }
}

/** A name from --env or COHO_ENV as printed: control characters as escapes, so it cannot forge a line. */
function shownName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}
