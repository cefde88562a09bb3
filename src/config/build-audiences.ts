import { parseDuration } from "../model/duration.js";
import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";
import { parseAddress } from "../model/address.js";
import { identifierListName, type AttributeBinding, type CohortConfig, type CohortSetConfig, type IdentifierConfig, type ModelConfig, type MovedBlock, type RemovalLimit, type SingleIdentifierConfig, type SourceConfig } from "../model/project.js";
import { bindingTemplates, templateVariables } from "../model/template.js";
import { buildDbtModel, resolveModelTemplate, type DbtContext } from "./build-dbt.js";
import type { Entry } from "./collect-entries.js";
import type { CohortData } from "./config-data.js";
import type { LoadedFile } from "./load-file.js";
import { MAX_CONFIG_BYTES } from "./read-yaml.js";
import { hiddenWithin, insideReal, shown } from "../util/inside.js";
import { locate, locateScalarText } from "./locate.js";
import { didYouMean } from "../util/suggest.js";
import { interpolateVars, varProblemMessage, type VarScope } from "./vars.js";

type Raw = Record<string, unknown>;

/** Name of the in-memory DuckDB source used when a project declares no source. */
export const DEFAULT_SOURCE = "duckdb";

/** What model building needs to know about sources and dbt. */
export interface ModelContext {
  /** Model files must be inside it. */
  readonly projectDir: string;
  readonly sourceNames: readonly string[];
  /** A declared source's type; undefined for the implicit in-memory DuckDB. */
  readonly sourceType: (name: string) => SourceConfig["type"] | undefined;
  readonly dbt: DbtContext | undefined;
}

/**
 * A model file's `${var:name}` references, as in inline SQL; `${env:…}` is an
 * error there too (the environment never reaches SQL). Located in the file.
 */
function interpolateSqlFile(text: string, path: string, where: string, vars: VarScope): { sql: string } | { problem: Diagnostic } {
  const at = (needle: string): SourceLocation => {
    const before = text.slice(0, Math.max(0, text.indexOf(needle))).split("\n");
    return { file: path, line: before.length, column: (before[before.length - 1] ?? "").length + 1, length: needle.length };
  };
  const env = /(?<!\$)\$\{env:[^}]*\}?/.exec(text);
  if (env) {
    const message = `${where}: ${env[0]} is not allowed in SQL: the environment reaches only secret fields and connection settings. Declare a variable under vars: in coho.yaml and write \${var:name}; the pipeline sets it with --var name=value`;
    return { problem: { severity: "error", code: "config.env_not_allowed", message, location: at(env[0]) } };
  }
  const result = interpolateVars(text.replace(/\$\$\{env:/g, "${env:"), vars);
  if (result.ok) return { sql: String(result.value) };
  const code = result.problem.kind === "malformed" ? "config.var_syntax" : result.problem.kind === "unknown" ? "config.var_unknown" : "config.var_unset";
  return { problem: { severity: "error", code, message: varProblemMessage(result.problem, where, vars), location: at(result.problem.reference) } };
}

/**
 * A model's SQL comes inline, from a file relative to the declaring file, or
 * from a dbt model (`dbt:`). Its source may be omitted when the project has
 * exactly one (or none: the embedded in-memory DuckDB); a dbt model's defaults
 * to `dbt.source`. ref()/source() in SQL resolve from the dbt manifest.
 */
export function buildModel(entry: Entry<Raw>, context: ModelContext, diagnostics: Diagnostic[]): ModelConfig | undefined {
  const { name, value, file, origin } = entry;
  const { projectDir, sourceNames, dbt } = context;
  const dbtSource = typeof value.dbt === "string" && value.source === undefined ? dbt?.settings.source : undefined;
  const source = dbtSource ?? resolveSource(entry, sourceNames, diagnostics);
  const sourceType = (source === undefined ? undefined : context.sourceType(source)) ?? "duckdb";
  if (typeof value.dbt === "string") return buildDbtModel(entry, source, sourceType, dbt, diagnostics);
  let sql: string;
  let sqlOrigin;
  if (typeof value.sql === "string") {
    sql = value.sql;
    sqlOrigin = locateScalarText(file.yaml, ["models", name, "sql"]);
  } else {
    const path = resolve(dirname(file.path), String(value.file));
    const at = locate(file.yaml, ["models", name, "file"]);
    // Model files are part of the project under review: never read one from elsewhere.
    if (!insideReal(projectDir, path) || hiddenWithin(projectDir, path)) {
      const message = `models.${name}.file: ${shown(projectDir, path)} is outside the project folder or hidden; model files must be inside it, not under a hidden entry such as .git/`;
      diagnostics.push({ severity: "error", code: "config.path_outside_project", message, location: at });
      return undefined;
    }
    const text = readSqlFile(path, String(value.file));
    if (typeof text !== "string") {
      diagnostics.push({ severity: "error", code: "config.model_file", message: `models.${name}.file: ${text.problem}`, location: at });
      return undefined;
    }
    const interpolated = interpolateSqlFile(text, path, `models.${name}.file`, file.vars);
    if ("problem" in interpolated) {
      diagnostics.push(interpolated.problem);
      return undefined;
    }
    sql = interpolated.sql;
    sqlOrigin = { file: path, line: 1, column: 1 };
  }
  if (source === undefined) return undefined;
  const primaryKey = typeof value.primary_key === "string" ? value.primary_key : undefined;
  return resolveModelTemplate({ name, source, primaryKey, sql, sqlOrigin, origin }, sourceType, dbt, diagnostics);
}

function resolveSource(entry: Entry<Raw>, sourceNames: readonly string[], diagnostics: Diagnostic[]): string | undefined {
  const { name, value, file } = entry;
  if (typeof value.source === "string") {
    if (sourceNames.includes(value.source)) return value.source;
    diagnostics.push(unknownReference(file, ["models", name, "source"], "source", value.source, sourceNames));
    return undefined;
  }
  if (sourceNames.length === 0) return DEFAULT_SOURCE;
  if (sourceNames.length === 1) return sourceNames[0];
  diagnostics.push({
    severity: "error",
    code: "config.model_source",
    message: `models.${name} does not name a source, and the project has several (${sourceNames.join(", ")}); add \`source:\``,
    location: entry.origin,
  });
  return undefined;
}

/** `written` is the path as the user wrote it, which is what messages show. */
function readSqlFile(path: string, written: string): string | { problem: string } {
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_BYTES) return { problem: `${written} is larger than ${MAX_CONFIG_BYTES} bytes` };
    return readFileSync(path, "utf8");
  } catch {
    return { problem: `file not found: ${written}` };
  }
}

export function buildIdentifier(entry: Entry<Raw>): IdentifierConfig {
  const { name, value, origin } = entry;
  const column = String(value.column);
  if (value.type === "alias") return { name, type: "alias", column, label: String(value.label), origin };
  return { name, type: value.type === "device_id" ? "device_id" : "external_id", column, origin };
}

/**
 * The identifier of `identifier: [a, b, c]`: the first non-null of the parts'
 * columns names each row's user. The parts must name users in different ways
 * (external_id, device_id, each alias label once), so that every member key
 * tells which part it came from (the plan counts members per part).
 */
export function buildIdentifierList(names: readonly string[], identifiers: ReadonlyMap<string, IdentifierConfig>, location: SourceLocation): { identifier?: IdentifierConfig; diagnostic?: Diagnostic } {
  const parts = names.map((n) => identifiers.get(n)).filter((p): p is SingleIdentifierConfig => p !== undefined && p.type !== "first_of");
  if (parts.length !== names.length) return {};
  const kind = (p: SingleIdentifierConfig) => (p.type === "alias" ? `alias (label ${p.label})` : p.type);
  for (const [i, part] of parts.entries()) {
    const twin = parts.slice(0, i).find((other) => kind(other) === kind(part));
    if (twin) {
      return {
        diagnostic: {
          severity: "error",
          code: "config.identifier_list",
          message: `identifiers ${twin.name} and ${part.name} both name users by ${kind(part)}: a list takes each kind once (external_id, device_id, one alias label each); keep one of them, or pick the column in the model's SQL (coalesce(a, b))`,
          location,
        },
      };
    }
  }
  return { identifier: { name: identifierListName(names), type: "first_of", parts, origin: location } };
}

export interface KnownNames {
  readonly models: readonly string[];
  readonly identifiers: readonly string[];
  readonly destinations: readonly string[];
}

/** Builds a cohort after checking that its model, identifier and destination exist. */
export function buildCohort(entry: Entry<Raw>, known: KnownNames, diagnostics: Diagnostic[]): CohortConfig | undefined {
  const { name: key, file, origin } = entry;
  const value = entry.value as unknown as CohortData;
  let ok = true;
  const check = (field: "model" | "identifier" | "destination", name: string, names: readonly string[], at: (string | number)[] = []) => {
    if (names.includes(name)) return;
    diagnostics.push(unknownReference(file, ["cohorts", key, field, ...at], field, name, names));
    ok = false;
  };
  check("model", value.model, known.models);
  // A list of identifiers: the first non-null of their columns names each row's user.
  const identifiers = typeof value.identifier === "string" ? [value.identifier] : value.identifier;
  identifiers.forEach((name, i) => check("identifier", name, known.identifiers, typeof value.identifier === "string" ? [] : [i]));
  check("destination", value.destination, known.destinations);
  const forEach = buildForEach(entry, diagnostics);
  if (!ok || forEach === null) return undefined;
  return {
    key,
    address: `cohorts.${key}`,
    name: value.name,
    destination: value.destination,
    model: value.model,
    identifier: typeof value.identifier === "string" ? value.identifier : identifierListName(value.identifier),
    ...(typeof value.identifier === "string" ? {} : { identifierList: value.identifier }),
    cohortId: value.cohort_id,
    ...(value.cohort_id === undefined ? {} : { cohortIdOrigin: locate(file.yaml, ["cohorts", key, "cohort_id"]) }),
    ...attributeBinding(value),
    ...(value.attribute === undefined ? {} : { attributeOrigin: locate(file.yaml, ["cohorts", key, "attribute"]) }),
    ...(value.on_leave === undefined ? {} : { onLeaveOrigin: locate(file.yaml, ["cohorts", key, "on_leave"]) }),
    guards: { maxRemovals: removalLimit(value.guards?.max_removals), allowEmpty: value.guards?.allow_empty ?? false },
    preventDestroy: value.prevent_destroy ?? false,
    ...refreshEvery(value.refresh_every),
    origin,
    ...(forEach ? { forEach } : {}),
  };
}

/**
 * `for_each` makes the cohort a set: its name (and cohort_id) become templates.
 * undefined: an ordinary cohort; null: a problem was reported.
 */
function buildForEach(entry: Entry<Raw>, diagnostics: Diagnostic[]): CohortSetConfig | undefined | null {
  const { name: key, file } = entry;
  const value = entry.value as unknown as CohortData;
  const at = (...path: string[]) => locate(file.yaml, ["cohorts", key, ...path]);
  const problem = (path: string[], code: string, message: string) => {
    diagnostics.push({ severity: "error", code, message: `cohorts.${key}.${path.join(".")}: ${message}`, location: at(...path) });
    return null;
  };
  const name = templateVariables(value.name);
  const id = value.cohort_id === undefined ? undefined : templateVariables(value.cohort_id);
  const binding = attributeBinding(value).attribute;
  if (!value.for_each) {
    if (id && "variables" in id && id.variables.size > 0) return problem(["cohort_id"], "config.template_outside_set", "{key} is only filled in for a cohort set; add for_each or write the id itself");
    const templated = binding ? bindingTemplates(binding).find((t) => { const parsed = templateVariables(t.template); return "variables" in parsed && parsed.variables.size > 0; }) : undefined;
    if (templated) return problem([...templated.path], "config.template_outside_set", "{key} and {label} are only filled in for a cohort set; add for_each or write the attribute itself");
    if (value.guards?.max_deleted_instances !== undefined) return problem(["guards", "max_deleted_instances"], "config.set_only", "applies only to a cohort set (for_each)");
    return undefined;
  }
  if ("problem" in name) return problem(["name"], "config.template", name.problem);
  if (name.variables.size === 0) return problem(["name"], "config.template", "a cohort set's name must use {key} or {label}, or every instance would have the same name");
  if (id && "problem" in id) return problem(["cohort_id"], "config.template", id.problem);
  if (id && !id.variables.has("key")) return problem(["cohort_id"], "config.template", "a cohort set's cohort_id must use {key}, so each instance adopts its own Braze cohort");
  if (binding && checkBindingTemplates(binding, (path, message) => problem(path, "config.template", message)) === null) return null;
  return {
    keyColumn: value.for_each.key,
    keys: value.for_each.keys,
    maxDeletedInstances: removalLimit(value.guards?.max_deleted_instances) ?? { kind: "percent", value: 10 },
    nameOrigin: at("name"),
  };
}

/**
 * A set's attribute binding is a template too: it must parse, and it must vary
 * with the key (boolean: the name; array: the name or the value), or every
 * instance would write the same attribute. null: a problem was reported.
 */
function checkBindingTemplates(binding: AttributeBinding, problem: (path: string[], message: string) => null): undefined | null {
  let varies = false;
  for (const { path, template } of bindingTemplates(binding)) {
    const parsed = templateVariables(template);
    if ("problem" in parsed) return problem([...path], parsed.problem);
    if (parsed.variables.size > 0) varies = true;
  }
  if (varies) return undefined;
  const example = binding.kind === "boolean" ? `attribute: ${binding.name}_{key}` : `attribute: { name: ${binding.name}, value: "{key}" }`;
  const path = binding.kind === "boolean" ? ["attribute"] : ["attribute", "value"];
  return problem(path, `a cohort set's attribute must use {key} or {label} (e.g. ${example}), or every instance would write the same attribute`);
}

/** The attribute road's binding; whether the destination takes one is the road's check. */
function attributeBinding(value: CohortData): { attribute?: AttributeBinding } {
  const raw = value.attribute;
  if (raw === undefined) return {};
  if (typeof raw === "string") return { attribute: { kind: "boolean", name: raw, onLeave: value.on_leave ?? "false" } };
  return { attribute: { kind: "array", name: raw.name, value: raw.value } };
}

function removalLimit(raw: number | string | undefined): RemovalLimit | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === "number") return { kind: "count", value: raw };
  return { kind: "percent", value: Number(raw.slice(0, -1)) };
}

/** `moved` blocks: `to` must be a declared cohort, `from` must no longer be one. */
export function buildMoved(files: readonly LoadedFile[], cohortKeys: readonly string[], setKeys: readonly string[], diagnostics: Diagnostic[]): MovedBlock[] {
  const blocks: MovedBlock[] = [];
  const fromSeen = new Set<string>();
  for (const file of files) {
    if (!file.yaml || !file.data?.moved) continue;
    file.data.moved.forEach((block, index) => {
      const at = (field: string) => locate(file.yaml!, ["moved", index, field]);
      const problem = (field: string, code: string, message: string) =>
        diagnostics.push({ severity: "error", code, message, location: at(field) });
      const to = parseAddress(block.to);
      const from = parseAddress(block.from);
      if (!to) return problem("to", "config.address", `moved[${index}].to: ${block.to} is not a cohort address`);
      if (!from) return problem("from", "config.address", `moved[${index}].from: ${block.from} is not a cohort address`);
      const toKey = to.cohort;
      const fromKey = from.cohort;
      if (block.from === block.to) return problem("to", "config.moved_same", `moved[${index}] moves ${block.from} to itself`);
      if (!cohortKeys.includes(toKey)) {
        return problem("to", "config.unknown_reference", `moved[${index}].to: no cohort \`${toKey}\` is declared${didYouMean(toKey, cohortKeys)}`);
      }
      const toSet = setKeys.includes(toKey);
      if (to.instance !== undefined && !toSet) return problem("to", "config.moved_instance", `moved[${index}].to: cohorts.${toKey} is not a cohort set (for_each), so it has no instance ${block.to}`);
      if (to.instance === undefined && from.instance !== undefined) return problem("to", "config.moved_instance", `moved[${index}]: an instance (${block.from}) moves to an instance address such as cohorts.${toKey}["…"]`);
      if (to.instance === undefined && toSet !== setKeys.includes(fromKey) && cohortKeys.includes(fromKey)) return problem("to", "config.moved_instance", `moved[${index}]: a whole set moves to a set`);
      // An instance may move within a set that is still declared (a key value renamed).
      if (from.instance === undefined && cohortKeys.includes(fromKey)) {
        return problem("from", "config.moved_from_exists", `moved[${index}].from: ${block.from} is still declared under cohorts; a moved address must no longer exist`);
      }
      if (fromSeen.has(block.from)) return problem("from", "config.moved_twice", `moved[${index}].from: ${block.from} is moved more than once`);
      fromSeen.add(block.from);
      blocks.push({ from: block.from, to: block.to, origin: locate(file.yaml!, ["moved", index], "value") });
    });
  }
  return blocks;
}

function unknownReference(file: Entry<Raw>["file"], path: (string | number)[], kind: string, name: string, names: readonly string[]): Diagnostic {
  const available = names.length === 0 ? ` (none is declared)` : didYouMean(name, names);
  return {
    severity: "error",
    code: "config.unknown_reference",
    message: `${path.join(".")}: no ${kind} \`${name}\` is declared${available}`,
    location: locate(file.yaml, path),
  };
}

/** `refresh_every` in milliseconds (the schema checked the grammar; 0 means never). */
function refreshEvery(text: string | undefined): { refreshEveryMs?: number } {
  if (text === undefined) return {};
  const parsed = parseDuration(text);
  return parsed.ok && parsed.ms > 0 ? { refreshEveryMs: parsed.ms } : {};
}
