import { CohoError } from "../model/errors.js";
import { parseMemberKey } from "../model/member-key.js";
import type { CohortPlan, Plan } from "../model/plan.js";
import { identifierParts, type Project } from "../model/project.js";
import type { StateView } from "../model/state.js";
import type { DeltaChunk } from "../plan/plan-file.js";

/** What a member key of one side of a cohort's delta must look like. */
export interface KeyShape {
  readonly type: "external_id" | "alias" | "device_id";
  /** The alias label, for alias identifiers. */
  readonly label?: string;
}

/**
 * Checks every delta of a saved plan before anything is journaled: each key is
 * a member key of the cohort's identifier (additions: the configured one;
 * removals: the one recorded in state), and per cohort the numbers of keys add
 * up to the header's counts. A file that passes its digest but was built by
 * hand, or by a buggy writer, is refused here instead of wedging the journal.
 */
export class SavedPlanChecker {
  readonly #path: string;
  readonly #cohorts: ReadonlyMap<string, CohortPlan>;
  readonly #shapes = new Map<string, { add: readonly KeyShape[] | undefined; remove: readonly KeyShape[] | undefined }>();
  readonly #counts = new Map<string, { add: number; remove: number }>();

  constructor(path: string, plan: Plan, project: Project, state: StateView) {
    this.#path = path;
    this.#cohorts = new Map(plan.cohorts.map((c) => [c.address, c]));
    for (const cohort of plan.cohorts) {
      const configured = cohort.after ? project.identifiers.get(cohort.after.identifier) : undefined;
      const recorded = state.cohorts[cohort.moved_from ?? cohort.address]?.identifier;
      const add = configured ? identifierParts(configured).map((p) => shape(p.type, p.type === "alias" ? p.label : undefined)) : undefined;
      const remove = recorded ? (recorded.parts ?? (recorded.type === "first_of" ? [] : [{ type: recorded.type, label: recorded.label }])).map((p) => shape(p.type, p.label)) : add;
      this.#shapes.set(cohort.address, { add, remove });
      this.#counts.set(cohort.address, { add: 0, remove: 0 });
    }
  }

  /** Throws `plan.file_invalid` for a chunk of an unknown cohort or with a key that is not the cohort's. */
  check(chunk: DeltaChunk): void {
    const counts = this.#counts.get(chunk.address);
    const shapes = this.#shapes.get(chunk.address);
    if (!counts || !shapes || (chunk.op !== "add" && chunk.op !== "remove") || !Array.isArray(chunk.keys)) {
      throw this.#invalid(`holds a delta for ${String(chunk.address)} that does not match its plan`);
    }
    const expected = shapes[chunk.op];
    for (const key of chunk.keys) {
      const problem = keyProblem(key, expected);
      if (problem) throw this.#invalid(`${chunk.address}: ${chunk.op === "add" ? "an addition" : "a removal"} ${JSON.stringify(String(key).slice(0, 60))} ${problem}`);
    }
    counts[chunk.op] += chunk.keys.length;
  }

  /** After the last chunk: every cohort's key counts must equal the header's. */
  finish(): void {
    for (const [address, counts] of this.#counts) {
      const cohort = this.#cohorts.get(address)!;
      // A refresh's re-sent members travel with the additions.
      const members = { add: cohort.members.add + (cohort.refresh?.members ?? 0), remove: cohort.members.remove };
      if (counts.add !== members.add || counts.remove !== members.remove) {
        throw this.#invalid(`${address}: the deltas hold +${counts.add} / −${counts.remove} members but the plan says +${members.add} / −${members.remove}`);
      }
    }
  }

  #invalid(detail: string): CohoError {
    return new CohoError("plan.file_invalid", `${this.#path} ${detail}; nothing was sent`, { hint: "make a new plan with coho plan --out FILE and review it" });
  }
}

function shape(type: KeyShape["type"], label: string | undefined): KeyShape {
  return label === undefined ? { type } : { type, label };
}

/** Why `key` cannot be a member of this side of the delta, or undefined when it can (any of a list's parts will do). */
export function keyProblem(key: unknown, shapes: readonly KeyShape[] | KeyShape | undefined): string | undefined {
  if (typeof key !== "string") return "is not a member key";
  const parsed = parseMemberKey(key);
  if (!parsed) return "is not a member key";
  const all = shapes === undefined ? [] : Array.isArray(shapes) ? shapes : [shapes as KeyShape];
  if (all.length === 0) return "belongs to no identifier of this cohort";
  const problems = all.map((expected) => shapeProblem(parsed, expected));
  return problems.includes(undefined) ? undefined : problems[0];
}

function shapeProblem(parsed: NonNullable<ReturnType<typeof parseMemberKey>>, expected: KeyShape): string | undefined {
  if (parsed.kind !== expected.type) return `is a ${parsed.kind} key, but the cohort's identifier is ${expected.type}`;
  if (parsed.kind === "alias" && expected.label !== undefined && parsed.label !== expected.label) return `has alias label ${parsed.label}, not ${expected.label}`;
  return undefined;
}
