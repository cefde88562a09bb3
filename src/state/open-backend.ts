import { CohoError } from "../model/errors.js";
import type { Project } from "../model/project.js";
import { stateFilesFor } from "../model/state-files.js";
import { openSnapshotSource } from "../sources/open-sources.js";
import type { StateBackend } from "./backend.js";
import { LocalBackend } from "./local-backend.js";
import { MirrorBackend } from "./mirror-backend.js";
import { PostgresBackend } from "./postgres-backend.js";
import { WarehouseSnapshotsBackend } from "./warehouse-backend.js";

export function openBackend(project: Project): StateBackend {
  const wanted = project.state.snapshots;
  const config = wanted ? project.sources.get(wanted.source) : undefined;
  if (!wanted || !config) return openBase(project);
  if (config.type === "duckdb") throw new CohoError("config.snapshot_source_type", `state.snapshots.source: ${wanted.source} is a duckdb source, which cannot hold snapshots`, { location: wanted.origin });
  const source = openSnapshotSource(config);
  const store = source.snapshotStore!(wanted.schema);
  const base = openBase(project, (snapshot) => store.holds(snapshot));
  // Without the state database's URL (a plan from the coho.lock mirror) no member is read anywhere.
  if (base.membersUnavailable !== undefined) return base;
  return new WarehouseSnapshotsBackend(base, store, (snapshot) => store.holds(snapshot), () => source.close());
}

function openBase(project: Project, heldElsewhere?: (snapshot: string) => boolean): StateBackend {
  const files = stateFilesFor(project.environment);
  if (project.state.backend === "local") return new LocalBackend(project.dir, files, heldElsewhere ? { heldElsewhere } : {});
  // Only offline loads (validate, plan) leave the URL unresolved.
  if (!project.state.url.resolved) return new MirrorBackend(project.dir, `the state database URL (${project.state.url.source}) is not set`, files);
  return new PostgresBackend(project.dir, project.state.url, project.state.schema, files);
}
