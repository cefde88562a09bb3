import { estimateCost, mergeFieldOf, mergeKeyOf, requestSizeOf } from "../destinations/roads.js";
import { isRetarget, needsPrepare, type CohortPlan, type CostEstimate } from "../model/plan.js";
import type { DestinationConfig } from "../model/project.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";

/**
 * Request groups: cohorts of one destination whose bindings the road merges (on
 * the attribute road, every boolean and array binding of the destination) send
 * their changes together, one object per user, so a user leaving one cohort and
 * joining another is one object in one request. Plan (cost) and apply (sending)
 * group with this one function, so the plan's estimate is what apply sends.
 *
 * A cohort joins a group when it changes members without a re-target (a
 * re-target sends to two sides in order) and its side's road has a merge key.
 * Parts are ordered by address; a user is "owned" by the first part that changes
 * it, and a group's requests are apportioned to its cohorts by owned users, so the
 * per-cohort numbers add up to exactly what the group sends.
 *
 * Groups stay per destination name even when two names reach one workspace
 * (destinations/identity.ts `workspacesOf`): one client sends a group, and each
 * destination sets its own batch size and update flag. That is safe because
 * validation judges attribute sharing per workspace — no two cohorts of one
 * workspace write one boolean attribute or one array value — so two groups of one
 * workspace never write the same field of a profile.
 */
export type Groupable = Pick<CohortPlan, "address" | "actions" | "changed_attributes" | "before" | "after" | "members" | "refresh">;

/** Groups of at least two cohorts each, parts in address order; other cohorts run alone. */
export function requestGroups<C extends Groupable>(destinations: ReadonlyMap<string, DestinationConfig>, cohorts: readonly C[]): C[][] {
  const groups = new Map<string, C[]>();
  for (const cohort of cohorts) {
    if (cohort.actions.length === 1 && cohort.actions[0] === "no-op") continue;
    if (cohort.members.add + cohort.members.remove + (cohort.refresh?.members ?? 0) === 0 || isRetarget(cohort.changed_attributes)) continue;
    const side = cohort.after ?? cohort.before;
    const config = side ? destinations.get(side.destination) : undefined;
    const key = side && config ? mergeKeyOf(config, side.target) : undefined;
    if (!side || key === undefined) continue;
    const id = `${side.destination}\u0000${key}`;
    groups.set(id, [...(groups.get(id) ?? []), cohort]);
  }
  return [...groups.values()].filter((g) => g.length >= 2).map((g) => [...g].sort((a, b) => (a.address < b.address ? -1 : 1)));
}

/** The delta tables of one part (absent: no changes on that side). */
export interface PartTables {
  readonly add: string | undefined;
  readonly remove: string | undefined;
}

function changesSql(parts: readonly PartTables[]): string {
  const selects = parts.flatMap((part, i) => [
    ...(part.add ? [`SELECT key, ${i} AS part, 0 AS op FROM ${part.add}`] : []),
    ...(part.remove ? [`SELECT key, ${i} AS part, 1 AS op FROM ${part.remove}`] : []),
  ]);
  return selects.length > 0 ? selects.join(" UNION ALL ") : "SELECT NULL::VARCHAR AS key, 0 AS part, 0 AS op WHERE false";
}

/** One row per distinct user: key, the parts it joins ("0,2"), the parts it leaves ("1"). */
export function mergedUsersSql(parts: readonly PartTables[]): string {
  const list = (op: number) => `string_agg(CASE WHEN op = ${op} THEN part::VARCHAR END, ',' ORDER BY part)`;
  return `SELECT key, ${list(0)} AS adds, ${list(1)} AS removes FROM (${changesSql(parts)}) AS changes GROUP BY key ORDER BY key`;
}

/** Users per part that the part owns (the first part changing them): they sum to the distinct users. */
export async function ownedUsers(engine: DuckDbEngine, parts: readonly PartTables[]): Promise<number[]> {
  const reader = await engine.connection.runAndReadAll(`SELECT owner, count(*) AS n FROM (SELECT min(part) AS owner FROM (${changesSql(parts)}) AS changes GROUP BY key) GROUP BY owner`);
  const owned = parts.map(() => 0);
  for (const row of reader.getRowObjects()) owned[Number(row.owner)] = Number(row.n);
  return owned;
}

/**
 * The group's requests as apply packs them (users in key order, `size` per
 * request): per request, the users it adds to some cohort and the others — the
 * streams a road's estimate counts requests and read-backs of additions from.
 */
export async function groupSends(engine: DuckDbEngine, parts: readonly PartTables[], size: number): Promise<{ add: number; remove: number }[]> {
  const reader = await engine.connection.runAndReadAll(
    `SELECT count(adds) AS a, count(*) AS n FROM (SELECT adds, (row_number() OVER (ORDER BY key) - 1) // ${Math.max(1, Math.floor(size))} AS request FROM (${mergedUsersSql(parts)})) GROUP BY request ORDER BY request`,
  );
  return reader.getRowObjects().map((row) => ({ add: Number(row.a), remove: Number(row.n) - Number(row.a) }));
}

/**
 * Attribute updates of a group per part: one per distinct (user, field), where
 * `fields[i]` numbers the field part i writes (cohorts on one array attribute
 * write one field), counted for the first part writing it. Each boolean cohort
 * thus counts exactly its own changes, and the parts sum to the group's updates.
 */
export async function ownedFieldUpdates(engine: DuckDbEngine, parts: readonly PartTables[], fields: readonly number[]): Promise<number[]> {
  const field = `CASE part ${fields.map((f, i) => `WHEN ${i} THEN ${f}`).join(" ")} END`;
  const reader = await engine.connection.runAndReadAll(
    `SELECT owner, count(*) AS n FROM (SELECT min(part) AS owner FROM (${changesSql(parts)}) AS changes GROUP BY key, ${field}) GROUP BY owner`,
  );
  const owned = parts.map(() => 0);
  for (const row of reader.getRowObjects()) owned[Number(row.owner)] = Number(row.n);
  return owned;
}

/** `total` split by `weights` (largest remainder, ties to the earlier part): the shares sum to `total`. */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (weights.length === 0) return [];
  if (sum === 0) return weights.map((_, i) => (i === 0 ? total : 0));
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, rest: x - Math.floor(x) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (left-- <= 0) break;
    shares[i]! += 1;
  }
  return shares;
}

/**
 * The plan's costs with every request group's cohorts sharing its requests:
 * the group costs ceil(distinct users / batch) requests and one attribute update
 * per distinct (user, field) — a user joining two boolean cohorts is one object
 * but two attributes; each cohort shows its share and the cohorts it shares with.
 */
export async function shareGroupCosts(
  destinations: ReadonlyMap<string, DestinationConfig>,
  engine: DuckDbEngine,
  cohorts: readonly CohortPlan[],
  tables: (address: string) => PartTables,
): Promise<CohortPlan[]> {
  const shared = new Map<string, CostEstimate>();
  for (const group of requestGroups(destinations, cohorts)) {
    const config = destinations.get((group[0]!.after ?? group[0]!.before)!.destination)!;
    // A delete only removes (as apply sends it).
    const parts = group.map((c) => (c.after === null ? { add: undefined, remove: tables(c.address).remove } : tables(c.address)));
    const owned = await ownedUsers(engine, parts);
    const requestsTotal = estimateCost(config, { prepare: false, sends: await groupSends(engine, parts, requestSizeOf(config)) });
    const updates = await ownedFieldUpdates(engine, parts, fieldNumbers(config, group));
    const total = { ...requestsTotal, attribute_updates: updates.reduce((a, b) => a + b, 0) };
    const requests = apportion(total.requests, owned);
    const readBacks = apportion(total.read_back_requests ?? 0, owned);
    group.forEach((cohort, i) => {
      const prepare = estimateCost(config, { prepare: needsPrepare(cohort), sends: [] });
      const seconds = total.requests > 0 ? (total.seconds * requests[i]!) / total.requests : 0;
      shared.set(cohort.address, {
        requests: prepare.requests + requests[i]!,
        attribute_updates: prepare.attribute_updates + updates[i]!,
        seconds: Math.round((prepare.seconds + seconds) * 1000) / 1000,
        ...(readBacks[i]! > 0 ? { read_back_requests: readBacks[i]! } : {}),
        shared_with: group.filter((c) => c !== cohort).map((c) => c.address),
      });
    });
  }
  return cohorts.map((c) => (shared.has(c.address) ? { ...c, cost: shared.get(c.address)! } : c));
}

/** Each part's field as a number: parts writing one field (one attribute) share it; a part without a field has its own. */
function fieldNumbers(config: DestinationConfig, group: readonly CohortPlan[]): number[] {
  const numbers = new Map<string, number>();
  return group.map((cohort, i) => {
    const field = mergeFieldOf(config, (cohort.after ?? cohort.before)!.target);
    if (field === undefined) return -1 - i;
    if (!numbers.has(field)) numbers.set(field, numbers.size);
    return numbers.get(field)!;
  });
}
