import type { Project } from "../model/project.js";
import type { StateBackend } from "./backend.js";
import { LocalBackend } from "./local-backend.js";
import { PostgresBackend } from "./postgres-backend.js";

export function openBackend(project: Project): StateBackend {
  if (project.state.backend === "local") return new LocalBackend(project.dir);
  return new PostgresBackend(project.dir, project.state.url, project.state.schema);
}
