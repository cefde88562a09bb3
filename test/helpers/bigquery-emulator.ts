import type { BigQuery } from "@google-cloud/bigquery";
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./fixtures.js";
import { freePort } from "./postgres-cluster.js";

/** The project every test uses; each test file makes datasets of its own in it. */
export const EMULATOR_PROJECT = "coho-test";

const require = createRequire(import.meta.url);

/** A client of an emulator at `url` (no authentication: the emulator checks none). */
export function clientOf(url: string): BigQuery {
  const { BigQuery: Client } = require("@google-cloud/bigquery") as typeof import("@google-cloud/bigquery");
  const { PassThroughClient } = require("google-auth-library") as typeof import("google-auth-library");
  return new Client({ projectId: EMULATOR_PROJECT, apiEndpoint: url, authClient: new PassThroughClient() });
}

/** The pinned goccy/bigquery-emulator, where .ci/run installs it (see .ci/tools.env). */
export function bigQueryEmulatorBinary(): string {
  const version = /^BIGQUERY_EMULATOR_VERSION=(\S+)$/m.exec(readFileSync(join(REPO_ROOT, ".ci", "tools.env"), "utf8"))?.[1];
  const tools = process.env.COHO_TOOLS_DIR ?? join(homedir(), ".cache", "coho-tools");
  return join(tools, `bigquery-emulator-${version}`, "bigquery-emulator");
}

export interface RunningBigQueryEmulator {
  /** For `api_endpoint`: http://127.0.0.1:<port>. */
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the BigQuery emulator on free ports of 127.0.0.1 (its REST API, and the
 * Storage API's gRPC port, which coho does not use) and waits until it answers.
 */
export async function startBigQueryEmulator(): Promise<RunningBigQueryEmulator> {
  const binary = bigQueryEmulatorBinary();
  if (!existsSync(binary)) throw new Error(`the BigQuery emulator is not installed at ${binary}: run bash .ci/run (it builds the pinned version)`);
  const [port, grpcPort] = [await freePort(), await freePort()];
  const child = spawn(binary, [`--project=${EMULATOR_PROJECT}`, `--host=127.0.0.1`, `--port=${port}`, `--grpc-port=${grpcPort}`, "--log-level=error"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the BigQuery emulator exited with ${child.exitCode}: ${stderr}`);
    const ok = await fetch(`${url}/bigquery/v2/projects/${EMULATOR_PROJECT}/datasets`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the BigQuery emulator did not answer within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
