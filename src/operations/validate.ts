import type { SecretNeeds } from "../config/interpolate-document.js";

export { OFFLINE_SECRETS, type SecretNeeds } from "../config/interpolate-document.js";
import { loadProject, type LoadResult } from "../config/load-project.js";

export interface ValidateRequest {
  /** The project folder (holding coho.yaml). */
  readonly dir: string;
  /** The environment to interpolate `${env:…}` from; `.env` beside coho.yaml fills the gaps. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Which secrets may stay unset (default: all required). Offline work (validate,
   * plan) passes OFFLINE_SECRETS: an unset Braze key is then a warning, and an
   * unset state URL makes plan read the committed coho.lock.
   */
  readonly secrets?: SecretNeeds;
  /** Values for variables declared under `vars:`, by name (`--var name=value`). */
  readonly vars?: Readonly<Record<string, string>>;
  /**
   * Absolute paths outside the project (or hidden in it) the configuration may
   * open: the opt-in from outside the reviewed configuration.
   */
  readonly allowPaths?: readonly string[];
  /** The environment of `environments:` to load; default: the one marked `default: true`. */
  readonly environment?: string;
}

/**
 * Loads and checks the configuration, offline. Diagnostics, never exceptions, for
 * user errors; `secrets` lists every secret resolved so that a front end can
 * redact them from whatever it prints.
 */
export function validate(request: ValidateRequest): LoadResult {
  return loadProject(request.dir, {
    env: { ...request.env },
    ...(request.secrets ? { secrets: request.secrets } : {}),
    ...(request.vars ? { vars: request.vars } : {}),
    ...(request.allowPaths ? { allowPaths: request.allowPaths } : {}),
    ...(request.environment === undefined ? {} : { environment: request.environment }),
  });
}
