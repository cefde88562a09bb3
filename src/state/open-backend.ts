import type { Project } from "../model/project.js";
import { stateFilesFor } from "../model/state-files.js";
import type { StateBackend } from "./backend.js";
import { LocalBackend } from "./local-backend.js";
import { MirrorBackend } from "./mirror-backend.js";
import { PostgresBackend } from "./postgres-backend.js";

export function openBackend(project: Project): StateBackend {
  const files = stateFilesFor(project.environment);
  if (project.state.backend === "local") return new LocalBackend(project.dir, files);
  // Only offline loads (validate, plan) leave the URL unresolved.
  if (!project.state.url.resolved) return new MirrorBackend(project.dir, `the state database URL (${project.state.url.source}) is not set`, files);
  return new PostgresBackend(project.dir, project.state.url, project.state.schema, files);
}
