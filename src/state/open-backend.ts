import { CohoError } from "../model/errors.js";
import type { Project } from "../model/project.js";
import { stateFilesFor } from "../model/state-files.js";
import { openSnapshotSource } from "../sources/open-sources.js";
import type { StateBackend } from "./backend.js";
import type { LockfileDoc, StateView } from "../model/state.js";
import { LocalBackend } from "./local-backend.js";
import { MirrorBackend } from "./mirror-backend.js";
import { PostgresBackend } from "./postgres-backend.js";
import { WarehouseSnapshotsBackend } from "./warehouse-backend.js";

export function openBackend(project: Project): StateBackend {
  return bindToEnvironment(openUnbound(project), project.environment?.name);
}

function openUnbound(project: Project): StateBackend {
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

/**
 * State bound to one environment: every write records its name, and a read of
 * state another environment wrote is refused. Moving `default: true` to another
 * environment would otherwise hand it the old default's coho.lock (or schema
 * coho): a plan saying "No changes" for a workspace that never got the members.
 * State written before the project had environments carries no name and is
 * taken over by the first write.
 */
function bindToEnvironment(backend: StateBackend, environment: string | undefined): StateBackend {
  if (environment === undefined) return backend;
  const check = (view: StateView): StateView => {
    const owner = "environment" in view ? view.environment : undefined;
    if (owner !== undefined && owner !== environment) {
      throw new CohoError("state.environment_mismatch", `this state belongs to environment ${owner}, not ${environment}: did \`default: true\` move to another environment? (the default environment keeps coho.lock, .coho/ and schema coho; every other keeps its own)`, {
        hint: `run with --env ${owner} for that state, or move default: true back to ${owner}`,
      });
    }
    return view;
  };
  return new Proxy(backend, {
    get(target, property) {
      if (property === "read") return async () => check(await target.read());
      if (property === "write") return (doc: LockfileDoc) => target.write({ ...doc, environment });
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
