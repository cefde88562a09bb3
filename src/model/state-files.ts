import type { Project } from "./project.js";

/**
 * Where one environment's local state lives, relative to the project folder.
 * A project without environments, and its default environment, keep the
 * unqualified places (coho.lock, .coho/), so adding `environments:` to a
 * project moves nothing; every other environment gets its own lockfile and
 * state folder, so no two environments can ever share a lineage, a lock, a
 * journal, snapshots or history (like Terraform's default workspace beside
 * terraform.tfstate.d/<name>/).
 */
export interface StateFiles {
  /** The lockfile (or, on the postgres backend, its committed mirror). */
  readonly lockfile: string;
  /** Snapshots, the lock, the journal and the history of the local backend. */
  readonly stateDir: string;
}

export const DEFAULT_STATE_FILES: StateFiles = { lockfile: "coho.lock", stateDir: ".coho" };

export function stateFilesFor(environment: Project["environment"]): StateFiles {
  if (environment === undefined || environment.isDefault) return DEFAULT_STATE_FILES;
  return { lockfile: `coho.${environment.name}.lock`, stateDir: `.coho/environments/${environment.name}` };
}

/** The PostgreSQL schema an environment's state lives in when coho.yaml names none. */
export function defaultStateSchema(environment: Project["environment"]): string {
  if (environment === undefined || environment.isDefault) return "coho";
  return `coho_${environment.name}`;
}
