import type { Project } from "../model/project.js";
import type { StateBackend } from "../state/backend.js";
import { openBackend } from "../state/open-backend.js";

/** Runs `work` with the project's state backend, closing it after. */
export async function withBackend<T>(project: Project, work: (backend: StateBackend) => Promise<T>): Promise<T> {
  const backend = openBackend(project);
  try {
    return await work(backend);
  } finally {
    await backend.close();
  }
}
