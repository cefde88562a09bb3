import type { GuardVerdict, MemberCounts } from "../model/plan.js";
import type { CohortConfig } from "../model/project.js";
import type { CohortState } from "../model/state.js";

export interface GuardInput {
  readonly address: string;
  readonly isDelete: boolean;
  readonly cohort: CohortConfig | undefined;
  readonly prior: CohortState | undefined;
  readonly members: MemberCounts;
  /** --allow-removals: removal guards are overridden (and say so), prevent_destroy is not. */
  readonly allowRemovals: boolean;
}

/**
 * Guard verdicts for one cohort: pure. allow_empty and max_removals protect an
 * audience from a broken model; prevent_destroy (also read from state, so it holds
 * after the config entry is gone) protects it from deletion.
 */
export function evaluateGuards(input: GuardInput): GuardVerdict[] {
  const { address, members } = input;
  if (input.isDelete) {
    if (!input.prior?.prevent_destroy) return [];
    return [{
      guard: "prevent_destroy",
      status: "blocked",
      message: `${address} has prevent_destroy in state: set prevent_destroy: false, apply, then remove it`,
    }];
  }
  const verdicts: GuardVerdict[] = [];
  const cohort = input.cohort;
  if (!cohort) return verdicts;
  const removal = (guard: GuardVerdict["guard"], blocked: boolean, message: string): GuardVerdict => ({
    guard,
    status: !blocked ? "pass" : input.allowRemovals ? "overridden" : "blocked",
    message: blocked && input.allowRemovals ? `${message} (allowed by --allow-removals)` : message,
  });
  if (!cohort.guards.allowEmpty && members.before > 0) {
    const empties = members.after === 0;
    verdicts.push(removal("allow_empty", empties, empties
      ? `the model returned no members: this would empty the cohort (${members.before} members); set guards.allow_empty: true if intended`
      : "the model returned members"));
  }
  const limit = cohort.guards.maxRemovals;
  if (limit) {
    const allowed = limit.kind === "count" ? limit.value : Math.floor((members.before * limit.value) / 100);
    const shown = limit.kind === "count" ? `${limit.value}` : `${limit.value}% of ${members.before} = ${allowed}`;
    const exceeds = members.remove > allowed;
    verdicts.push(removal("max_removals", exceeds, exceeds
      ? `${members.remove} removals exceed max_removals (${shown})`
      : `${members.remove} removals within max_removals (${shown})`));
  }
  return verdicts;
}
