import { isMap, isPair, isScalar, isSeq, type Node } from "yaml";
import type { Diagnostic } from "../model/diagnostic.js";
import { Secret } from "../model/secret.js";
import { ALL_SECRETS_REQUIRED, type SecretNeeds } from "../model/secret-needs.js";
import { interpolate, wholeReference, type EnvLookup } from "./env.js";
import { formatPath, locateWithin, type DataPath } from "./locate.js";
import type { YamlFile } from "./read-yaml.js";
import { NO_VARS, interpolateVars, varProblemMessage, type VarScope } from "./vars.js";

/**
 * Fields that hold credentials. They are never interpolated into the document
 * (so schema checks and error messages only ever see `${env:NAME}`); their values
 * are resolved separately into Secret objects.
 */
export function isSecretPath(path: DataPath): boolean {
  const [section, , field] = path;
  if (path.length === 3 && section === "destinations") return field === "partner_api_key" || field === "data_import_key" || field === "api_key";
  if (path.length === 3 && section === "sources") return field === "url" || field === "credentials" || field === "password" || field === "private_key" || field === "private_key_passphrase";
  return path.length === 2 && section === "state" && path[1] === "url";
}

/** Credentials of a Braze destination: needed only by commands that talk to Braze. */
export function isDestinationSecretPath(path: DataPath): boolean {
  return path[0] === "destinations" && isSecretPath(path);
}

/** Credentials of the PostgreSQL state backend. */
export function isStateUrlPath(path: DataPath): boolean {
  return path.length === 2 && path[0] === "state" && path[1] === "url";
}

/**
 * Which unset secrets a command can do without. Offline commands (validate, plan)
 * never call Braze, so an unset destination secret is a warning for them; a plan
 * without the state URL reads the committed coho.lock mirror instead.
 */
export { ALL_SECRETS_REQUIRED, OFFLINE_SECRETS, type SecretNeeds } from "../model/secret-needs.js";

export interface InterpolatedSecrets {
  /** Keyed by the dotted data path, e.g. `destinations.braze.partner_api_key`. */
  readonly secrets: Map<string, Secret>;
  /**
   * Values of environment variables a connection setting read that could be a
   * credential (not a URL or a path), for redaction only: a pull request chooses
   * which variable a setting reads, and a message may show the setting.
   */
  readonly exposed: Secret[];
  readonly diagnostics: Diagnostic[];
}

/**
 * Replaces `${env:…}` in every string scalar of the document, in place, so that
 * positions stay valid for later diagnostics. Secret fields are resolved into
 * Secrets instead. Missing variables are errors located at the reference.
 */
export function interpolateDocument(file: YamlFile, env: EnvLookup, needs: SecretNeeds = ALL_SECRETS_REQUIRED, vars: VarScope = NO_VARS): InterpolatedSecrets {
  const secrets = new Map<string, Secret>();
  const exposed: Secret[] = [];
  const diagnostics: Diagnostic[] = [];

  const visit = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isPair(pair) && isScalar(pair.key)) visit(pair.value, [...path, String(pair.key.value)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]));
    } else if (isScalar(node) && typeof node.value === "string") {
      if (isSecretPath(path)) resolveSecret(node.value, path);
      else interpolateScalar(node, path);
    }
  };

  const interpolateScalar = (node: Node & { value: unknown }, path: DataPath): void => {
    let text = node.value as string;
    if (!isConnectionSetting(path)) {
      const reference = ENV_REFERENCE.exec(text);
      if (reference) {
        diagnostics.push(envNotAllowed(file, path, reference[0]));
        return;
      }
      text = text.replace(/\$\$\{env:/g, "${env:");
    } else {
      const result = interpolate(text, env);
      if (!result.ok) {
        diagnostics.push("missing" in result ? missingVariable(file, path, result.missing, result.reference) : malformedEnv(file, path));
        return;
      }
      for (const [, name] of text.matchAll(/(?<!\$)\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g)) {
        const value = env(name!);
        if (value !== undefined && mayBeCredential(value)) exposed.push(new Secret(value, name!, path.join(".")));
      }
      text = result.value;
    }
    // Variables after the environment, so that a variable's value is never read for `${env:…}`.
    if (path[0] === "vars") {
      node.value = text;
      return;
    }
    const result = interpolateVars(text, vars);
    if (result.ok) node.value = result.value;
    else diagnostics.push({
      severity: "error",
      code: result.problem.kind === "malformed" ? "config.var_syntax" : result.problem.kind === "unknown" ? "config.var_unknown" : "config.var_unset",
      message: varProblemMessage(result.problem, formatPath(path), vars),
      location: locateWithin(file, path, result.problem.reference),
    });
  };

  const resolveSecret = (text: string, path: DataPath): void => {
    if (!text.includes("${env:")) return; // a literal: the schema and secret checks report it
    const result = interpolate(text, env);
    const names = [...text.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]).join(", ");
    const unset = !result.ok && "missing" in result ? { name: result.missing, reference: result.reference, empty: false } : result.ok && result.value === "" ? { name: wholeReference(text) ?? names, reference: text, empty: true } : undefined;
    if (unset) {
      const need = secretNeed(path, needs);
      if (need !== "required") {
        if (need === "optional") diagnostics.push(optionalSecretUnset(file, path, unset.name, unset.reference));
        secrets.set(path.join("."), Secret.unresolved(unset.name, path.join(".")));
      } else {
        diagnostics.push(missingVariable(file, path, unset.name, unset.reference, unset.empty));
      }
      return;
    }
    if (!result.ok) return;
    secrets.set(path.join("."), new Secret(result.value, names, path.join(".")));
  };

  visit(file.doc.contents, []);
  return { secrets, exposed, diagnostics };
}

/**
 * Where `${env:…}` may be written besides secret fields: connection settings
 * (sources, destinations, state). Never in SQL, names, labels or attribute
 * names, where a value could be printed (transformed past redaction) by a model
 * error or a plan: those take declared variables, `${var:name}`.
 */
export function isConnectionSetting(path: DataPath): boolean {
  return path[0] === "sources" || path[0] === "destinations" || path[0] === "state";
}

/** Long enough to be a token, and not a URL or a path (which messages legitimately show). */
function mayBeCredential(value: string): boolean {
  return value.length >= 12 && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) && !/^[./~]/.test(value);
}

/** An unescaped `${env:` (`$${env:…}` is a literal). */
const ENV_REFERENCE = /(?<!\$)\$\{env:[^}]*\}?/;

function envNotAllowed(file: YamlFile, path: DataPath, reference: string): Diagnostic {
  return {
    severity: "error",
    code: "config.env_not_allowed",
    message: `${formatPath(path)}: ${reference} is not allowed here: the environment reaches only secret fields and connection settings (sources, destinations, state), never SQL, names, labels or attribute names. Declare a variable under vars: in coho.yaml and write \${var:name}; the pipeline sets it with --var name=value`,
    location: locateWithin(file, path, reference),
  };
}

function malformedEnv(file: YamlFile, path: DataPath): Diagnostic {
  return {
    severity: "error",
    code: "config.env_syntax",
    message: "malformed environment reference: write ${env:NAME} or ${env:NAME:-default} (NAME is letters, digits and underscores)",
    location: locateWithin(file, path, "${env:"),
  };
}

function secretNeed(path: DataPath, needs: SecretNeeds): SecretNeeds["destinations"] {
  if (isDestinationSecretPath(path)) return needs.destinations;
  if (isStateUrlPath(path)) return needs.stateUrl;
  return "required";
}

function optionalSecretUnset(file: YamlFile, path: DataPath, name: string, reference: string): Diagnostic {
  const consequence = isStateUrlPath(path)
    ? "planning from the committed coho.lock without member snapshots (membership changes are net counts); apply needs it"
    : "fine for validate and plan, which never call Braze; apply and check need it";
  return {
    severity: "warning",
    code: "config.secret_unset",
    message: `environment variable ${name} is not set (needed by ${formatPath(path)}): ${consequence}`,
    location: locateWithin(file, path, reference),
  };
}

function missingVariable(file: YamlFile, path: DataPath, name: string, reference: string, empty = false): Diagnostic {
  const state = empty ? "is set but empty" : "is not set";
  return {
    severity: "error",
    code: empty ? "config.env_empty" : "config.env_missing",
    message: `environment variable ${name} ${state} (needed by ${formatPath(path)}); set it, or add it to .env beside coho.yaml`,
    location: locateWithin(file, path, reference),
  };
}
