import { createPrivateKey } from "node:crypto";

/** The fields of a Google service-account key coho uses to sign its requests. */
export interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKey: string;
  readonly privateKeyId: string | undefined;
  readonly projectId: string | undefined;
}

export type ServiceAccountCheck = { readonly ok: true; readonly key: ServiceAccountKey } | { readonly ok: false; readonly problem: string };

/**
 * Reads a service-account key file's JSON (as `gcloud iam service-accounts keys
 * create` writes it). Problems are phrased without any part of the text: it holds
 * a private key, and JSON.parse's own message quotes the input.
 */
export function checkServiceAccountKey(text: string): ServiceAccountCheck {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problem: "is not JSON (expected the service-account key file's contents, not its path)" };
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return { ok: false, problem: "is JSON but not an object (expected a service-account key file)" };
  const fields = data as Record<string, unknown>;
  if (fields.type !== "service_account") {
    const type = typeof fields.type === "string" && /^[a-z_]{1,40}$/.test(fields.type) ? `"${fields.type}"` : "missing";
    return { ok: false, problem: `is not a service-account key: its "type" is ${type}, expected "service_account" (omit credentials to use Application Default Credentials)` };
  }
  for (const field of ["client_email", "private_key"] as const) {
    if (typeof fields[field] !== "string" || fields[field] === "") return { ok: false, problem: `is a service-account key without "${field}"` };
  }
  try {
    createPrivateKey(fields.private_key as string);
  } catch {
    return { ok: false, problem: `holds a "private_key" that is not a PEM private key` };
  }
  return {
    ok: true,
    key: {
      clientEmail: fields.client_email as string,
      privateKey: fields.private_key as string,
      privateKeyId: typeof fields.private_key_id === "string" ? fields.private_key_id : undefined,
      projectId: typeof fields.project_id === "string" ? fields.project_id : undefined,
    },
  };
}
