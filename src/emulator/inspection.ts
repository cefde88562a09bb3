import type { IncomingMessage, ServerResponse } from "node:http";
import { FAULT_KINDS, type FaultKind } from "./faults.js";
import type { RuntimeSettings } from "./options.js";
import type { RequestLog } from "./request-log.js";
import type { Workspace } from "./workspace.js";
import { parseMemberKey } from "../model/member-key.js";

export interface InspectionContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly body: Buffer | undefined;
  readonly workspace: Workspace;
  readonly log: RequestLog;
  readonly settings: RuntimeSettings;
  readonly applySettings: (changes: Partial<RuntimeSettings>) => void;
  readonly persist: () => void;
}

/**
 * `/_emulator/…`: what Braze would hold and what was sent, for tests and users.
 * Not part of Braze's API; never rate limited or faulted.
 *
 *   GET  /_emulator/health
 *   GET  /_emulator/cohorts                    cohorts with names and member counts
 *   GET  /_emulator/cohorts/{id}/members       member keys, sorted
 *   GET  /_emulator/requests?since=SEQ         the request log (no credentials)
 *   POST /_emulator/reset                      forget cohorts, users' attributes and the log
 *   GET  /_emulator/users                      users with custom attributes (the /users/track road)
 *   GET  /_emulator/users/{key}                one user: exists, custom_attributes
 *   POST /_emulator/users/{key}                {"custom_attributes": {...}}: plant a change (null removes); creates the profile when it does not exist (a sign-up)
 *   DELETE /_emulator/users/{key}              delete the user (exports and updates no longer find it)
 *   POST /_emulator/refuse                     {"keys": [...]}: /users/track refuses these users' objects by index
 *   GET|POST /_emulator/config                 fault_rate, fault_kinds, seed, rate_limit, latency_ms, locked, retry_after_seconds
 */
export function handleInspection(ctx: InspectionContext): void {
  const { req, res, url, workspace, log } = ctx;
  const path = url.pathname.replace(/\/$/, "");
  const json = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.method === "GET" && path === "/_emulator/health") return json(200, { ok: true });
  if (req.method === "GET" && path === "/_emulator/cohorts") {
    const cohorts = [...workspace.cohorts].map(([id, c]) => ({ cohort_id: id, name: c.name, created_at: c.createdAt, member_count: c.members.size }));
    return json(200, { cohorts: cohorts.sort((a, b) => (a.cohort_id < b.cohort_id ? -1 : 1)) });
  }
  const members = /^\/_emulator\/cohorts\/([^/]+)\/members$/.exec(path);
  if (req.method === "GET" && members) {
    const id = decodeURIComponent(members[1]!);
    const cohort = workspace.cohorts.get(id);
    if (!cohort) return json(404, { message: `no cohort ${id}` });
    return json(200, { cohort_id: id, name: cohort.name, members: cohort.members.displayKeys() });
  }
  if (path === "/_emulator/users" || path.startsWith("/_emulator/users/") || path === "/_emulator/refuse") {
    const answer = handleUsersInspection(req.method ?? "GET", path, ctx.body, workspace);
    if (answer.status < 300) ctx.persist();
    return json(answer.status, answer.body);
  }
  if (req.method === "GET" && path === "/_emulator/requests") {
    const since = Number(url.searchParams.get("since") ?? "0");
    return json(200, { total: log.total, requests: log.since(Number.isFinite(since) ? since : 0) });
  }
  if (req.method === "POST" && path === "/_emulator/reset") {
    workspace.reset();
    log.clear();
    ctx.persist();
    return json(200, { ok: true });
  }
  if (path === "/_emulator/config") {
    if (req.method === "POST") {
      const problem = applyConfig(ctx);
      if (problem) return json(400, { message: problem });
    }
    const s = ctx.settings;
    return json(200, { fault_rate: s.faultRate, fault_kinds: s.faultKinds, seed: s.seed, rate_limit: s.rateLimit, latency_ms: s.latencyMs, locked: s.locked, retry_after_seconds: s.retryAfterSeconds });
  }
  return json(404, { message: "Not found" });
}

function handleUsersInspection(method: string, path: string, raw: Buffer | undefined, workspace: Workspace): { status: number; body: unknown } {
  const { profiles } = workspace;
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(raw?.toString("utf8") || "{}") as Record<string, unknown>;
  } catch {
    return { status: 400, body: { message: "body must be JSON" } };
  }
  if (path === "/_emulator/refuse" && method === "POST") {
    const keys = body.keys;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) return { status: 400, body: { message: "keys must be a list of member keys" } };
    profiles.refused.clear();
    for (const key of keys) profiles.refused.add(key);
    return { status: 200, body: { refused: [...profiles.refused].sort() } };
  }
  if (path === "/_emulator/users" && method === "GET") {
    const users = [...profiles.attributes].filter(([key]) => !profiles.deleted.has(key)).map(([key, custom]) => ({ key, custom_attributes: custom }));
    return { status: 200, body: { users: users.sort((a, b) => (a.key < b.key ? -1 : 1)) } };
  }
  const key = decodeURIComponent(path.slice("/_emulator/users/".length));
  const identifier = parseMemberKey(key);
  if (!identifier || identifier.kind === "device_id") return { status: 400, body: { message: "expected an external_id:… or alias:label:name member key" } };
  const user = workspace.user(identifier);
  if (method === "DELETE") {
    profiles.deleted.add(user.key);
    profiles.created.delete(user.key);
    profiles.attributes.delete(user.key);
    return { status: 200, body: { key: user.key, exists: false } };
  }
  if (method === "POST") {
    const custom = body.custom_attributes;
    if (typeof custom !== "object" || custom === null) return { status: 400, body: { message: "custom_attributes must be an object" } };
    // A profile written to exists from now on, as a user who signs up does.
    if (!user.exists) {
      profiles.created.add(user.key);
      profiles.deleted.delete(user.key);
    }
    for (const [name, value] of Object.entries(custom)) profiles.write(user.key, name, value);
  }
  return { status: 200, body: { key: user.key, exists: workspace.user(identifier).exists, custom_attributes: profiles.attributes.get(user.key) ?? {} } };
}

function applyConfig(ctx: InspectionContext): string | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(ctx.body?.toString("utf8") ?? "{}") as Record<string, unknown>;
  } catch {
    return "body must be JSON";
  }
  const changes: Partial<RuntimeSettings> = {};
  if (body.fault_rate !== undefined) {
    if (typeof body.fault_rate !== "number" || body.fault_rate < 0 || body.fault_rate > 1) return "fault_rate must be a number from 0 to 1";
    changes.faultRate = body.fault_rate;
  }
  if (body.fault_kinds !== undefined) {
    const kinds = body.fault_kinds;
    if (!Array.isArray(kinds) || !kinds.every((k) => FAULT_KINDS.includes(k as FaultKind))) return `fault_kinds must list some of ${FAULT_KINDS.join(", ")}`;
    changes.faultKinds = kinds as FaultKind[];
  }
  for (const [key, field] of [["seed", "seed"], ["rate_limit", "rateLimit"], ["latency_ms", "latencyMs"], ["retry_after_seconds", "retryAfterSeconds"]] as const) {
    const value = body[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) return `${key} must be a whole number`;
    changes[field] = value;
  }
  if (body.locked !== undefined) {
    if (typeof body.locked !== "boolean") return "locked must be true or false";
    changes.locked = body.locked;
  }
  ctx.applySettings(changes);
  return undefined;
}
