import type { Diagnostic } from "../model/diagnostic.js";
import { formatPath, locate, type DataPath } from "./locate.js";
import type { YamlFile } from "./read-yaml.js";
import { configValidator, type SchemaError } from "./schema.js";
import { didYouMean } from "../util/suggest.js";

/** Validates one file's data against schema/coho.schema.json; located diagnostics. */
export function validateSchema(file: YamlFile, data: unknown): Diagnostic[] {
  const validate = configValidator();
  if (validate(data)) return [];
  const errors = relevant(validate.errors ?? []);
  const seen = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  for (const error of errors) {
    const diagnostic = toDiagnostic(file, error);
    const key = `${diagnostic.location?.line}:${diagnostic.location?.column}:${diagnostic.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    diagnostics.push(diagnostic);
  }
  return diagnostics;
}

/**
 * The entries (`section.name`) and whole sections that hold a schema error, so
 * that the rest of a file can still be reference-checked in the same pass: every
 * error at once, not schema errors first and reference errors on the next run.
 */
export function invalidEntries(data: unknown, sections: readonly string[]): { entries: Set<string>; sections: Set<string> } {
  const validate = configValidator();
  const entries = new Set<string>();
  const broken = new Set<string>();
  if (validate(data)) return { entries, sections: broken };
  for (const error of validate.errors ?? []) {
    // An unknown key inside an entry leaves its known keys usable: the entry is still
    // reference-checked, so a typo'd key and a bad reference come in one pass.
    if (error.keyword === "additionalProperties" && pointerToPath(error.instancePath).length >= 2) continue;
    const [section, name] = pointerToPath(error.instancePath);
    if (section === undefined || !sections.includes(section)) continue;
    if (name === undefined) {
      // A bad key *name* in a section is reported at the section; only that entry is broken.
      const property = (error.params as { propertyName?: string }).propertyName;
      if (property !== undefined) entries.add(`${section}.${property}`);
      else broken.add(section);
    } else entries.add(`${section}.${name}`);
  }
  return { entries, sections: broken };
}

/**
 * Drops errors that only echo others: `if` (its `then` error says it better),
 * `propertyNames` (its inner pattern error names the key), and anything inside a
 * `oneOf` whose schema carries its own errorMessage.
 */
function relevant(errors: readonly SchemaError[]): SchemaError[] {
  const explained = errors
    .filter((e) => e.keyword === "oneOf" && typeof (e.parentSchema as { errorMessage?: unknown })?.errorMessage === "string")
    .map((e) => `${e.schemaPath}/`);
  return errors.filter(
    (e) => e.keyword !== "if" && e.keyword !== "propertyNames" && !explained.some((prefix) => e.schemaPath.startsWith(prefix)),
  );
}

function toDiagnostic(file: YamlFile, error: SchemaError): Diagnostic {
  const path = pointerToPath(error.instancePath);
  const where = path.length === 0 ? "the file" : formatPath(path);
  const custom = (error.parentSchema as { errorMessage?: string } | undefined)?.errorMessage;
  const error_ = (message: string, at: DataPath, target: "key" | "value" = "value"): Diagnostic => ({
    severity: "error",
    code: `config.schema.${error.keyword}`,
    message,
    location: locate(file, at, target),
  });
  const params = error.params as Record<string, unknown>;

  const propertyName = (error as { propertyName?: unknown }).propertyName;
  if (typeof propertyName === "string") {
    const name = propertyName;
    return { ...error_(`name \`${name}\` in ${where} ${custom ?? "is not allowed"}`, [...path, name], "key"), code: "config.schema.name" };
  }
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      const inside = path.length === 0 ? "at the top level" : `in ${where}`;
      return { ...error_(`unknown key \`${key}\` ${inside}${didYouMean(key, known)}`, [...path, key], "key"), code: "config.unknown_key" };
    }
    case "required":
      return error_(`${where} is missing the required key \`${String(params.missingProperty)}\``, path, "key");
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const hint = typeof error.data === "string" ? didYouMean(error.data, allowed) : "";
      return error_(`${where} must be one of ${allowed.map((v) => `\`${v}\``).join(", ")}${hint}`, path);
    }
    case "const":
      return error_(`${where} ${custom ?? `must be ${String(params.allowedValue)}`}`, path);
    case "type":
      // `cohorts:` with nothing under it parses as null: say so, not "must be a mapping".
      if (error.data === null) return error_(`${where} is empty: give it ${emptyHint(String(params.type))}, or remove the key`, path, "key");
      // A type's own message where the schema gives one (a duration: "30" has no unit).
      return error_(`${where} ${custom ?? `must be ${typeName(String(params.type))}`}`, path);
    default: {
      // A mapping is pointed at by its key: its value's first line is some other key.
      const isMapping = typeof error.data === "object" && error.data !== null && !Array.isArray(error.data);
      return error_(`${where} ${custom ?? error.message ?? "is not valid"}`, path, isMapping ? "key" : "value");
    }
  }
}

function emptyHint(type: string): string {
  if (type === "object") return "at least one entry";
  if (type === "array") return "at least one item";
  return `a value (${typeName(type)})`;
}

function typeName(type: string): string {
  const names: Record<string, string> = {
    object: "a mapping (key: value pairs)",
    array: "a list",
    string: "a string",
    boolean: "true or false",
    integer: "a whole number",
    number: "a number",
  };
  return type.split(",").map((t) => names[t] ?? t).join(" or ");
}

function pointerToPath(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}
