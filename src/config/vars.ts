import { isMap, isPair, isScalar } from "yaml";
import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";
import type { Secret } from "../model/secret.js";
import { didYouMean } from "../util/suggest.js";
import { locate } from "./locate.js";
import type { YamlFile } from "./read-yaml.js";

/**
 * Declared variables (`vars:` in coho.yaml), the only values that may reach SQL,
 * names, labels and attribute names from outside the text itself, written
 * `${var:name}`. A value comes from the declaration's `default`, then from each
 * layer of overrides in order (today: `--var name=value`), the last one winning.
 * The environment is never a layer: what a pull request's SQL or names can print
 * is what coho.yaml and the pipeline's command line say, never a secret.
 */
export const VAR_TYPES = ["string", "integer", "number", "boolean"] as const;
export type VarType = (typeof VAR_TYPES)[number];
export type VarValue = string | number | boolean;

export interface VarDeclaration {
  readonly name: string;
  /** Undefined when the declaration's type is invalid (the schema reports it). */
  readonly type: VarType | undefined;
  readonly default: VarValue | undefined;
  readonly location: SourceLocation;
}

/** Values given from outside coho.yaml, as text, e.g. `--var` flags. */
export interface VarLayer {
  /** How the layer is named in messages, e.g. "--var". */
  readonly origin: string;
  readonly values: Readonly<Record<string, string>>;
}

/** The variables of one load: every declared name, and the value of each that has one. */
export interface VarScope {
  readonly declared: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, VarValue>;
}

export const NO_VARS: VarScope = { declared: new Set(), values: new Map() };

/** The declarations under `vars:` of coho.yaml, read from the document (before any interpolation). */
export function declaredVars(file: YamlFile): VarDeclaration[] {
  const section = file.doc.get("vars", true);
  if (!isMap(section)) return [];
  return section.items.flatMap((pair) => {
    if (!isPair(pair) || !isScalar(pair.key) || !isMap(pair.value)) return [];
    const name = String(pair.key.value);
    const spec = pair.value.toJSON() as Record<string, unknown>;
    const type = VAR_TYPES.includes(spec.type as VarType) ? (spec.type as VarType) : undefined;
    const value = spec.default;
    const fallback = typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : undefined;
    return [{ name, type, default: fallback, location: locate(file, ["vars", name], "key") }];
  });
}

/**
 * Each declared variable's value: its default, overridden by each layer in turn.
 * A default of the wrong type, an override naming no declared variable, or one
 * that does not parse as the declared type is an error; the variable then has no
 * value, so its references report it once more where they are written.
 */
export function resolveVars(file: YamlFile, declarations: readonly VarDeclaration[], layers: readonly VarLayer[], diagnostics: Diagnostic[]): VarScope {
  const values = new Map<string, VarValue>();
  const byName = new Map(declarations.map((d) => [d.name, d]));
  for (const declaration of declarations) {
    if (declaration.type === undefined || declaration.default === undefined) continue;
    if (matchesType(declaration.default, declaration.type)) values.set(declaration.name, declaration.default);
    else diagnostics.push({ severity: "error", code: "config.var_type", message: `vars.${declaration.name}.default must be ${article(declaration.type)}`, location: locate(file, ["vars", declaration.name, "default"]) });
  }
  const at = locate(file, ["vars"], "key");
  for (const layer of layers) {
    for (const [name, text] of Object.entries(layer.values)) {
      const declaration = byName.get(name);
      if (!declaration) {
        const known = byName.size === 0 ? " (coho.yaml declares none)" : didYouMean(name, byName.keys());
        diagnostics.push({ severity: "error", code: "config.var_unknown", message: `${layer.origin} ${name}: no variable \`${name}\` is declared under vars: in coho.yaml${known}`, location: byName.size === 0 ? { file: file.path, line: 1, column: 1 } : at });
        continue;
      }
      if (declaration.type === undefined) continue;
      const parsed = parseAs(text, declaration.type);
      if (parsed === undefined) {
        values.delete(name);
        diagnostics.push({ severity: "error", code: "config.var_type", message: `${layer.origin} ${name}: the value is not ${article(declaration.type)}`, location: declaration.location });
      } else values.set(name, parsed);
    }
  }
  return { declared: new Set(byName.keys()), values };
}

/** `${var:name}`; `$${var:…}` is a literal `${var:…}`. */
const REFERENCE = /\$?\$\{var:([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE = /^\$\{var:([A-Za-z_][A-Za-z0-9_]*)\}$/;
/** Something that starts like a reference but does not parse as one. */
const BROKEN_REFERENCE = /(?<!\$)\$\{var:(?![A-Za-z_][A-Za-z0-9_]*\})/;

export type VarProblem =
  | { readonly kind: "malformed"; readonly reference: string }
  | { readonly kind: "unknown" | "unset"; readonly name: string; readonly reference: string };

/**
 * Replaces every `${var:name}` in `text`, in one pass (a value is never read for
 * references again). A text that is one whole reference takes the value's own
 * type, so `batch_size: ${var:size}` is a number.
 */
export function interpolateVars(text: string, scope: VarScope): { ok: true; value: VarValue } | { ok: false; problem: VarProblem } {
  if (BROKEN_REFERENCE.test(text)) return { ok: false, problem: { kind: "malformed", reference: "${var:" } };
  const whole = WHOLE.exec(text);
  if (whole) {
    const problem = missing(whole[1]!, whole[0], scope);
    return problem ? { ok: false, problem } : { ok: true, value: scope.values.get(whole[1]!)! };
  }
  let problem: VarProblem | undefined;
  const value = text.replace(REFERENCE, (reference, name: string) => {
    if (reference.startsWith("$$")) return reference.slice(1);
    problem ??= missing(name, reference, scope);
    return String(scope.values.get(name) ?? "");
  });
  return problem ? { ok: false, problem } : { ok: true, value };
}

export function varProblemMessage(problem: VarProblem, where: string, scope: VarScope): string {
  if (problem.kind === "malformed") return `malformed variable reference in ${where}: write \${var:name} (name is letters, digits and underscores, declared under vars: in coho.yaml)`;
  if (problem.kind === "unknown") {
    const known = scope.declared.size === 0 ? "; declare it under vars: in coho.yaml" : didYouMean(problem.name, scope.declared);
    return `${where}: no variable \`${problem.name}\` is declared under vars: in coho.yaml${known}`;
  }
  return `${where}: variable \`${problem.name}\` has no value: give it a default under vars.${problem.name}, or pass --var ${problem.name}=VALUE`;
}

/**
 * Whether a variable's value carries a secret in some form (as it is, reversed,
 * in another case, hex or base64, or a long enough piece of one): the pipeline
 * passed a key with `--var`. Such a variable is refused before anything uses it.
 */
export function carriesSecret(value: VarValue, secrets: readonly Secret[]): boolean {
  const text = String(value).toLowerCase();
  if (text.length < 4) return false;
  return secrets.some((secret) => {
    const plain = secret.reveal();
    if (plain.length < 4) return false;
    const forms = [plain, [...plain].reverse().join(""), Buffer.from(plain).toString("hex"), Buffer.from(plain).toString("base64").replace(/=+$/, ""), Buffer.from(plain).toString("base64url")];
    return forms.some((form) => text.includes(form.toLowerCase())) || (text.length >= 8 && plain.toLowerCase().includes(text));
  });
}

function missing(name: string, reference: string, scope: VarScope): VarProblem | undefined {
  if (!scope.declared.has(name)) return { kind: "unknown", name, reference };
  if (!scope.values.has(name)) return { kind: "unset", name, reference };
  return undefined;
}

function matchesType(value: VarValue, type: VarType): boolean {
  if (type === "string") return typeof value === "string";
  if (type === "boolean") return typeof value === "boolean";
  if (type === "integer") return typeof value === "number" && Number.isSafeInteger(value);
  return typeof value === "number" && Number.isFinite(value);
}

/** A `--var` text as the declared type, or undefined when it is not one. */
function parseAs(text: string, type: VarType): VarValue | undefined {
  if (type === "string") return text;
  if (type === "boolean") return text === "true" ? true : text === "false" ? false : undefined;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) return undefined;
  const number = Number(text);
  return matchesType(number, type) ? number : undefined;
}

function article(type: VarType): string {
  return type === "integer" ? "an integer" : type === "number" ? "a number" : type === "boolean" ? "a boolean (true or false)" : "a string";
}
