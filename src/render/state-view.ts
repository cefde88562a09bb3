import type { StateView } from "../model/state.js";
import { visible } from "./escape.js";

/** `coho state list` / `coho show`: one line per recorded cohort. */
export function renderStateList(state: StateView): string {
  const entries = Object.entries(state.cohorts);
  if (entries.length === 0) {
    // serial 0 means no apply ever wrote state; later, an empty state means every cohort was deleted or forgotten.
    return state.serial === 0 ? "The state is empty: nothing was applied yet." : `The state records no cohorts (serial ${state.serial}): every cohort was deleted or forgotten.`;
  }
  const head = `State ${state.lineage} serial ${state.serial}:`;
  const width = Math.max(...entries.map(([a]) => a.length));
  const lines = entries.map(([address, c]) => `  ${visible(address).padEnd(width)}  ${visible(c.cohort_id)}  "${visible(c.name)}"  ${c.members.count} members  (${visible(c.destination)}, applied ${visible(c.applied_at)})`);
  return [head, ...lines].join("\n");
}
