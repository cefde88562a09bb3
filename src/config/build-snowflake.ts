import { createPrivateKey } from "node:crypto";
import { isLoopbackHost } from "../model/braze-instances.js";
import type { Diagnostic } from "../model/diagnostic.js";
import { parseDuration } from "../model/duration.js";
import type { SnowflakeSourceConfig } from "../model/project.js";
import type { Secret } from "../model/secret.js";
import type { Entry } from "./collect-entries.js";
import { locate } from "./locate.js";
import { parsedUrl } from "./parsed-url.js";
import { SNOWFLAKE_DOMAINS, endpointNotAllowed, hostWithin } from "./endpoint-hosts.js";

type Raw = Record<string, unknown>;

/** The secret fields of a Snowflake source, each read only from the environment. */
const SECRET_FIELDS = ["private_key", "private_key_passphrase", "password"] as const;

/**
 * A `type: snowflake` source. The schema has checked the shapes; this checks what
 * it cannot: that exactly one way to sign in is given, that secrets come from the
 * environment, that a private key parses (named by its variable, never shown), and
 * that an access_url would not send credentials in clear text.
 */
export function buildSnowflakeSource(entry: Entry<Raw>, diagnostics: Diagnostic[]): SnowflakeSourceConfig | undefined {
  const { name, value, file, origin } = entry;
  const at = (field: string) => locate(file.yaml, ["sources", name, field]);
  const error = (code: string, field: string, message: string) => {
    diagnostics.push({ severity: "error", code, message, location: at(field) });
    return undefined;
  };
  for (const field of SECRET_FIELDS) {
    if (typeof value[field] === "string" && !file.secrets.has(`sources.${name}.${field}`) && !String(value[field]).includes("${env:")) {
      return error("config.secret_literal", field, `sources.${name}.${field} is written in YAML; secrets are never written in config: use \${env:NAME} and put the value in the environment (or in .env beside coho.yaml)`);
    }
  }
  const privateKey = file.secrets.get(`sources.${name}.private_key`);
  const passphrase = file.secrets.get(`sources.${name}.private_key_passphrase`);
  const password = file.secrets.get(`sources.${name}.password`);
  const given = [value.private_key, value.password].filter((v) => v !== undefined).length;
  if (given !== 1) {
    return error("config.credentials_invalid", given === 0 ? "type" : "password", `sources.${name}: give exactly one of private_key (key-pair authentication, recommended) and password, each as \${env:NAME}`);
  }
  // A reference whose variable is unset was reported already (or may be, for offline commands).
  if (value.private_key !== undefined && !privateKey) return undefined;
  if (value.password !== undefined && !password) return undefined;
  if (privateKey?.resolved) {
    const problem = privateKeyProblem(privateKey.reveal(), passphrase?.resolved ? passphrase.reveal() : undefined);
    if (problem) return error("config.credentials_invalid", "private_key", `sources.${name}.private_key: the value of environment variable ${privateKey.source} ${problem}`);
  }
  const accessUrl = typeof value.access_url === "string" ? value.access_url.replace(/\/+$/, "") : undefined;
  if (accessUrl !== undefined) {
    // A reference that could not be resolved (or was refused) is left as written and reported there.
    const url = parsedUrl(accessUrl);
    if (!url) return undefined;
    if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
      return error("config.endpoint_insecure", "access_url", `sources.${name}.access_url must use https: plain http is only allowed for a stand-in on loopback such as http://127.0.0.1:8765`);
    }
    if (!isLoopbackHost(url.hostname) && !hostWithin(url.hostname, SNOWFLAKE_DOMAINS)) {
      diagnostics.push(endpointNotAllowed(`sources.${name}.access_url`, url.hostname, "Snowflake's (*.snowflakecomputing.com, privatelink included)", at("access_url")));
      return undefined;
    }
  }
  const timeout = parseDuration(typeof value.request_timeout === "string" ? value.request_timeout : "2m");
  return {
    type: "snowflake",
    name,
    account: String(value.account),
    user: String(value.user),
    auth: privateKey ? { kind: "key_pair", privateKey, passphrase: passphrase as Secret | undefined } : { kind: "password", password: password! },
    warehouse: String(value.warehouse),
    role: typeof value.role === "string" ? value.role : undefined,
    database: String(value.database),
    schema: String(value.schema),
    accessUrl,
    requestTimeoutMs: timeout.ok ? timeout.ms : 120_000,
    origin,
  };
}

/** Why a private key cannot sign (never quoting it), or undefined when it can. */
export function privateKeyProblem(pem: string, passphrase: string | undefined): string | undefined {
  if (!/-----BEGIN (ENCRYPTED |RSA )?PRIVATE KEY-----/.test(pem)) return "is not a PEM private key (-----BEGIN PRIVATE KEY----- …, as `openssl genrsa | openssl pkcs8 -topk8` writes it)";
  const encrypted = pem.includes("ENCRYPTED PRIVATE KEY");
  if (encrypted && passphrase === undefined) return "is an encrypted private key, and private_key_passphrase is not set";
  try {
    const key = createPrivateKey(encrypted ? { key: pem, format: "pem", passphrase: passphrase ?? "" } : { key: pem, format: "pem" });
    if (key.asymmetricKeyType !== "rsa") return `is a ${key.asymmetricKeyType} key; Snowflake's key-pair authentication takes an RSA key`;
  } catch {
    return encrypted ? "cannot be decrypted with private_key_passphrase" : "is not a readable PEM private key";
  }
  return undefined;
}
