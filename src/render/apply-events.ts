import kleur from "kleur";
import type { OperationEvent } from "../operations/events.js";
import { visible } from "./escape.js";
import { renderPlanHuman } from "./plan-human.js";

/**
 * The human text an apply event calls for, and on which stream: the plan on
 * stdout, notices on stderr. Events not named here only feed the progress line.
 */
export function renderApplyEvent(event: OperationEvent): { readonly stream: "out" | "err"; readonly text: string } | undefined {
  switch (event.type) {
    case "lock_waiting":
      return { stream: "err", text: `Waiting for the state lock held by ${visible(event.holder)}…` };
    case "lock_taken_over":
      return { stream: "err", text: kleur.yellow(`warning: took over a lock left by a process that no longer runs: ${visible(event.previous)}`) };
    case "resuming":
      return { stream: "err", text: kleur.yellow(`Found an interrupted apply: finishing it first (${event.batches} request(s) of unknown fate for ${event.cohorts} cohort(s)).`) };
    case "planned":
      return { stream: "out", text: renderPlanHuman(event.plan) };
    default:
      return undefined;
  }
}
