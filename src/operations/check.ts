import { openClient } from "../destinations/roads.js";
import { probeCohortImport } from "../destinations/braze-cohorts/probe-credentials.js";
import { CohoError } from "../model/errors.js";
import type { DestinationConfig, ModelConfig, Project, SourceConfig } from "../model/project.js";
import { openSession, type Session } from "../plan/session.js";
import { describeSource } from "../sources/open-sources.js";

/** One line of `coho check`. Never holds a secret: messages come from redacting errors. */
export interface CheckResult {
  readonly kind: "destination" | "source" | "state";
  readonly name: string;
  /** What was reached: an endpoint and partner, a database, a file. */
  readonly target: string;
  readonly ok: boolean;
  /** What was proven, or what went wrong. */
  readonly detail: string;
  readonly hint?: string;
  readonly duration_ms: number;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly results: readonly CheckResult[];
}

export interface CheckRequest {
  readonly project: Project;
  /** Per-request timeout for destination probes (default 10 s). */
  readonly timeoutMs?: number;
  readonly onResult?: (result: CheckResult) => void;
}

/**
 * Proves every connection the project needs without changing anything Braze
 * users can see: each destination answers a no-op request with these
 * credentials; each source connects and runs `SELECT 1`; the state is read.
 * Failures are results, not exceptions: every check runs.
 */
export async function check(request: CheckRequest): Promise<CheckReport> {
  const { project } = request;
  const results: CheckResult[] = [];
  const add = (result: CheckResult) => {
    results.push(result);
    request.onResult?.(result);
  };
  for (const destination of project.destinations.values()) add(await checkDestination(destination, request.timeoutMs));
  const session = await openSession(project);
  try {
    for (const source of project.sources.values()) add(await checkSource(session, source));
    add(await checkState(session));
  } finally {
    await session.close();
  }
  return { ok: results.every((r) => r.ok), results };
}

async function checkDestination(config: DestinationConfig, timeoutMs: number | undefined): Promise<CheckResult> {
  if (config.type === "braze_attributes") {
    // The road's own probe: an empty /users/track request, nothing visible in Braze.
    return timed("destination", config.name, config.restEndpoint, async () => {
      const client = openClient(config, { concurrency: 1, timeoutMs: timeoutMs ?? 10_000, retry: { maxAttempts: 2, baseDelayMs: 200 } });
      try {
        const result = await client.probe();
        if (!result.ok) throw new CohoError("braze.request_failed", result.message, result.hint ? { hint: result.hint } : {});
        return result.message;
      } finally {
        await client.close();
      }
    }, () => undefined);
  }
  const target = `${config.restEndpoint} partner ${config.partner}`;
  return timed("destination", config.name, target, async () => {
    await probeCohortImport(config, timeoutMs === undefined ? {} : { timeoutMs });
    return "Cohort Import accepted both keys (an empty change, nothing visible in Braze)";
  }, (error) => (error instanceof CohoError && !error.hint && error.code === "braze.request_failed" ? `check destinations.${config.name}.rest_endpoint: is ${config.restEndpoint} reachable from here?` : undefined));
}

async function checkSource(session: Session, config: SourceConfig): Promise<CheckResult> {
  const target = describeSource(config);
  return timed("source", config.name, target, async () => {
    const probe: ModelConfig = { name: `check_${config.name}`, source: config.name, primaryKey: undefined, sql: "select 1 as ok", sqlOrigin: config.origin, origin: config.origin };
    for await (const batch of session.sources.get(config.name)!.stream(probe, 1)) if (batch.rows.length > 0) break;
    return "connected; SELECT 1 answered";
  });
}

async function checkState(session: Session): Promise<CheckResult> {
  const state = session.project.state;
  const target = state.backend === "local" ? "coho.lock and .coho/" : `PostgreSQL schema ${state.schema}`;
  return timed("state", state.backend, target, async () => {
    const doc = await session.backend.read();
    return doc.lineage === null ? "readable; nothing applied yet" : `readable; serial ${doc.serial}, ${Object.keys(doc.cohorts).length} cohort(s)`;
  });
}

async function timed(
  kind: CheckResult["kind"],
  name: string,
  target: string,
  work: () => Promise<string>,
  extraHint: (error: unknown) => string | undefined = () => undefined,
): Promise<CheckResult> {
  const started = Date.now();
  try {
    const detail = await work();
    return { kind, name, target, ok: true, detail, duration_ms: Date.now() - started };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const hint = (error instanceof CohoError ? error.hint : undefined) ?? extraHint(error);
    return { kind, name, target, ok: false, detail, ...(hint ? { hint } : {}), duration_ms: Date.now() - started };
  }
}
