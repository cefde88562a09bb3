import type { StateView } from "../model/state.js";
import { visible } from "./escape.js";

/** `coho state list` / `coho show`: one line per recorded cohort. */
export function renderStateList(state: StateView): string {
  const entries = Object.entries(state.cohorts);
  if (entries.length === 0) return "The state is empty: nothing was applied yet.";
  const head = `State ${state.lineage} serial ${state.serial}:`;
  const width = Math.max(...entries.map(([a]) => a.length));
  const lines = entries.map(([address, c]) => `  ${visible(address).padEnd(width)}  ${visible(c.cohort_id)}  "${visible(c.name)}"  ${c.members.count} members  (${visible(c.destination)}, applied ${visible(c.applied_at)})`);
  return [head, ...lines].join("\n");
}
