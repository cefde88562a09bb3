import { join } from "node:path";
import type { Project } from "../model/project.js";
import { DuckDbEngine } from "../sources/duckdb-engine.js";
import { closeSources, openSources } from "../sources/open-sources.js";
import type { Source } from "../sources/source.js";
import type { StateBackend } from "../state/backend.js";
import { STATE_DIR } from "../state/local-backend.js";
import { openBackend } from "../state/open-backend.js";

/** Everything a plan or apply works with; close() releases it all. */
export interface Session {
  readonly project: Project;
  readonly engine: DuckDbEngine;
  readonly sources: ReadonlyMap<string, Source>;
  readonly backend: StateBackend;
  close(): Promise<void>;
}

export async function openSession(project: Project, options: { memoryLimit?: string } = {}): Promise<Session> {
  const backend = openBackend(project);
  const engine = await DuckDbEngine.create({
    projectDir: project.dir,
    tempDirectory: join(project.dir, STATE_DIR, "tmp"),
    ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}),
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
