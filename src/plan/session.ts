import { join } from "node:path";
import type { Project } from "../model/project.js";
import { DuckDbEngine } from "../sources/duckdb-engine.js";
import { projectSandbox, type EngineSandbox } from "../sources/sandbox.js";
import { closeSources, openSources } from "../sources/open-sources.js";
import type { Source } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import { STATE_DIR } from "../state/local-backend.js";
import { stateFilesFor } from "../model/state-files.js";
import { openBackend } from "../state/open-backend.js";

/** Everything a plan or apply works with; close() releases it all. */
export interface Session {
  readonly project: Project;
  readonly engine: DuckDbEngine;
  readonly sources: ReadonlyMap<string, Source>;
  readonly backend: StateBackend;
  close(): Promise<void>;
}

/** `threads`: DuckDB's worker threads (default: one per core); it also bounds how many cohort groups plan at once. */
export async function openSession(project: Project, options: { memoryLimit?: string; threads?: number } = {}): Promise<Session> {
  const backend = openBackend(project);
  const engine = await DuckDbEngine.create({
    projectDir: project.dir,
    tempDirectory: join(project.dir, STATE_DIR, "tmp"),
    sandbox: sandboxFor(project),
    ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
  });
  const sources = openSources(project, engine);
  return {
    project,
    engine,
    sources,
    backend,
    close: async () => {
      await closeSources(sources);
      await engine.close();
      await backend.close();
    },
  };
}

/** The engine's sandbox: the project, the DuckDB database files, and every source's opt-ins. */
export function sandboxFor(project: Project): EngineSandbox {
  const duckdb = [...project.sources.values()].flatMap((s) => (s.type === "duckdb" ? [s] : []));
  return projectSandbox({
    projectDir: project.dir,
    files: duckdb.flatMap((s) => (s.path === undefined ? [] : [s.path])),
    allowed: duckdb.flatMap((s) => s.allowedPaths ?? []),
    ...(project.environment && !project.environment.isDefault ? { stateDir: stateFilesFor(project.environment).stateDir } : {}),
  });
}
