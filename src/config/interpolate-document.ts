import { isMap, isPair, isScalar, isSeq, type Node } from "yaml";
import type { Diagnostic } from "../model/diagnostic.js";
import { Secret } from "../model/secret.js";
import { ALL_SECRETS_REQUIRED, type SecretNeeds } from "../model/secret-needs.js";
import { interpolate, wholeReference, type EnvLookup } from "./env.js";
import { urlCredentials } from "../model/redaction.js";
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
   * Values of environment variables a connection setting read (credentialParts),
   * for redaction only: a pull request chooses which variable a setting reads,
   * and a message may show the setting.
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
      const hostFromEnv = envInHost(path, text);
      if (hostFromEnv) {
        diagnostics.push(envInHostDiagnostic(file, path, hostFromEnv));
        return;
      }
      const result = interpolate(text, env);
      if (!result.ok) {
        diagnostics.push("missing" in result ? missingVariable(file, path, result.missing, result.reference) : malformedEnv(file, path));
        return;
      }
      for (const [, name] of text.matchAll(/(?<!\$)\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g)) {
        const value = env(name!);
        for (const part of value === undefined ? [] : credentialParts(value)) exposed.push(new Secret(part, name!, path.join(".")));
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
    if (!WHOLE_REFERENCE.test(text)) {
      diagnostics.push(partialSecret(file, path, text));
      return;
    }
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

/**
 * What of an environment value a connection setting read is redacted like a
 * secret: all of it, however short (a pull request chooses which variable a
 * setting reads, and a driver may echo it, lower-cased or quoted), except what
 * messages must show to be understood: a URL's address (only its password and
 * query string are hidden), a file path, and a port number.
 */
function credentialParts(value: string): string[] {
  if (value === "" || /^\d{1,5}$/.test(value) || /^[./~]/.test(value)) return [];
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return urlCredentials(value);
  return [value];
}

/** A secret field's value: one whole reference (a default allowed), the pipeline's value as it is. */
const WHOLE_REFERENCE = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$/;

/**
 * Settings whose host coho connects to. Their host is never taken from the
 * environment: coho.yaml, which a pull request edits, could otherwise put any
 * variable of the job into a host name (`https://${env:TOKEN}.example.com`), and
 * resolving that name (DNS) sends the value to whoever answers for the domain.
 * A whole reference is the pipeline's address; a reference after a literal host
 * (a port, a path) is fine.
 */
function envInHost(path: DataPath, text: string): string | undefined {
  const address = path.length === 3 && ((path[0] === "sources" && (path[2] === "api_endpoint" || path[2] === "access_url")) || (path[0] === "destinations" && path[2] === "rest_endpoint"));
  if (!address || WHOLE_REFERENCE.test(text)) return undefined;
  const reference = ENV_REFERENCE.exec(text);
  if (!reference) return undefined;
  const before = text.slice(0, reference.index);
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#:@\s$]+[:/?#]/.test(before) ? undefined : reference[0];
}

function envInHostDiagnostic(file: YamlFile, path: DataPath, reference: string): Diagnostic {
  return {
    severity: "error",
    code: "config.env_in_host",
    message: `${formatPath(path)}: the host of an address may not come from the environment (${reference} here): a pull request could put any variable of the job into a host name, and looking that name up sends the value out. Write the host as it is (a port or path may use \${env:…}), or take the whole address from one variable: \${env:NAME}`,
    location: locateWithin(file, path, reference),
  };
}

function partialSecret(file: YamlFile, path: DataPath, text: string): Diagnostic {
  return {
    severity: "error",
    code: "config.secret_partial",
    message: `${formatPath(path)}: a secret field is one whole \${env:NAME}, without text around it: coho.yaml, which a pull request edits, must not choose where a secret is sent (a host written around \${env:PASSWORD} could be anyone's). Put the whole value (a URL with its password) in one variable`,
    location: locateWithin(file, path, ENV_REFERENCE.exec(text)?.[0] ?? "${env:"),
  };
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
