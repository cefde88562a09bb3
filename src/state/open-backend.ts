import { CohoError } from "../model/errors.js";
import type { Project } from "../model/project.js";
import type { StateBackend } from "./backend.js";
import { LocalBackend } from "./local-backend.js";

export function openBackend(project: Project): StateBackend {
  if (project.state.backend === "local") return new LocalBackend(project.dir);
  throw new CohoError("state.backend_unavailable", "the postgres state backend is not available in this version of coho", {
    hint: "use `state: { backend: local }` (the default) for now",
  });
}
