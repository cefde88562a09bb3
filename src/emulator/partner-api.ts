import { checkCohortUpsert, checkMembership } from "./validate-body.js";
import type { Workspace } from "./workspace.js";

export interface Credentials {
  readonly partner: string;
  readonly partnerApiKey: string;
  readonly dataImportKey: string;
}

export interface ApiAnswer {
  readonly status: number;
  readonly message: string;
  /** What the request carried, for the request log (never credentials). */
  readonly details: { cohort_id?: string; name?: string; identifiers?: number; cohort_changes?: unknown[] };
  readonly changed: boolean;
}

export type PartnerEndpoint = "cohorts" | "cohorts/users";

/** `/partners/{partner}/cohorts[/users]` → the partner and endpoint, else undefined. */
export function matchPartnerPath(path: string): { partner: string; endpoint: PartnerEndpoint } | undefined {
  const match = /^\/partners\/([^/]+)\/(cohorts|cohorts\/users)\/?$/.exec(path);
  if (!match) return undefined;
  return { partner: decodeURIComponent(match[1]!), endpoint: match[2] as PartnerEndpoint };
}

/**
 * Braze's two Cohort Import endpoints: authentication from the body, then the
 * documented validations, then the change. Pure over the workspace.
 */
export function handlePartnerRequest(
  workspace: Workspace,
  credentials: Credentials,
  partner: string,
  endpoint: PartnerEndpoint,
  body: Record<string, unknown>,
): ApiAnswer {
  const details: ApiAnswer["details"] = {};
  if (typeof body.cohort_id === "string") details.cohort_id = body.cohort_id;
  const answer = (status: number, message: string, changed = false): ApiAnswer => ({ status, message, details, changed });

  if (body.partner_api_key !== credentials.partnerApiKey) return answer(401, "Invalid Partner API key");
  if (body.client_secret !== credentials.dataImportKey) return answer(401, "Invalid client secret");
  // Braze echoes the client secret in this message; the client must redact it.
  if (partner !== credentials.partner) return answer(401, `Partner not enabled for client with client secret: ${credentials.dataImportKey}`);

  if (endpoint === "cohorts") {
    const checked = checkCohortUpsert(body);
    if (!checked.ok) return answer(400, checked.message);
    details.name = checked.value.name;
    workspace.upsertCohort(checked.value.cohortId, checked.value.name, checked.value.createdAt);
    return answer(201, "success", true);
  }
  if (Array.isArray(body.cohort_changes)) details.cohort_changes = body.cohort_changes as unknown[];
  const checked = checkMembership(body);
  if (!checked.ok) return answer(400, checked.message);
  details.identifiers = checked.value.count;
  for (const change of checked.value.changes) workspace.change(checked.value.cohortId, change.identifiers, change.remove);
  return answer(200, "success", true);
}
