import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { CohoError } from "../model/errors.js";
import type { LockInfo } from "../model/state.js";
import { COHO_VERSION } from "../version.js";

/** `user@host`, or the CI run when the environment names one. */
export function describeHolder(env: NodeJS.ProcessEnv): string {
  if (env.GITHUB_RUN_ID) return `GitHub Actions run ${env.GITHUB_RUN_ID}${env.GITHUB_REPOSITORY ? ` (${env.GITHUB_REPOSITORY})` : ""}`;
  if (env.GITLAB_CI && env.CI_JOB_ID) return `GitLab CI job ${env.CI_JOB_ID}`;
  if (env.BUILDKITE_BUILD_NUMBER) return `Buildkite build ${env.BUILDKITE_BUILD_NUMBER}`;
  if (env.CIRCLE_BUILD_NUM) return `CircleCI build ${env.CIRCLE_BUILD_NUM}`;
  let user = env.USER ?? env.USERNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = "unknown";
    }
  }
  return `${user}@${hostname()}`;
}

export function newLockInfo(operation: string, env: NodeJS.ProcessEnv): LockInfo {
  return {
    id: randomUUID(),
    operation,
    who: describeHolder(env),
    pid: process.pid,
    host: hostname(),
    created: new Date().toISOString(),
    version: COHO_VERSION,
  };
}

export function describeLock(lock: LockInfo): string {
  return `${lock.who} (${lock.operation}, pid ${lock.pid} on ${lock.host}, since ${lock.created}, coho ${lock.version}); lock id ${lock.id}`;
}

/** A writer found that the lock it took is no longer its own (force-unlocked, or its session ended). */
export function lockLostError(held: LockInfo, current: LockInfo | undefined): CohoError {
  const now = current ? `; the state is now locked by ${describeLock(current)}` : "";
  return new CohoError("state.lock_lost", `this coho lost the state lock it held (lock id ${held.id}): someone ran coho force-unlock${now}. It stopped: no further request was sent and no state was written after that`, {
    hint: "requests of unknown fate stay in the journal; the next coho apply (once no other one runs) resends them and records the result",
  });
}
