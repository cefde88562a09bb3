import { addressMatches } from "../model/address.js";
import { identifierParts, type Project } from "../model/project.js";
import type { DuckDbEngine } from "../sources/duckdb-engine.js";
import { openModelRows, type ModelRows } from "../sources/model-rows.js";
import type { Source } from "../sources/source.js";
import { setInPlay } from "./expand-sets.js";

/** A cohort (or a whole set) that reads a model in the grouped path. */
export interface ModelConsumer {
  readonly address: string;
  readonly model: string;
  /** Columns it reads: identifier, primary key, set key, label. */
  readonly columns: readonly string[];
}

/**
 * Each model runs at most once per plan, however many cohorts and sets read it
 * and with however many identifiers. Consumers are declared up front, so that the
 * one run keeps every column any of them reads; a model with a single consumer is
 * not copied at all (its query is read in place). Runs of models from the same
 * non-DuckDB source take turns: such a source has one connection.
 */
export class ModelRuns {
  readonly #project: Pick<Project, "models">;
  readonly #sources: ReadonlyMap<string, Source>;
  readonly #consumers = new Map<string, ModelConsumer[]>();
  readonly #runs = new Map<string, Promise<ModelRows>>();
  readonly #turns = new Map<string, Promise<unknown>>();
  readonly #onRun: ((model: string, addresses: readonly string[]) => void) | undefined;

  constructor(project: Pick<Project, "models">, sources: ReadonlyMap<string, Source>, consumers: readonly ModelConsumer[], onRun?: (model: string, addresses: readonly string[]) => void) {
    this.#project = project;
    this.#sources = sources;
    this.#onRun = onRun;
    for (const consumer of consumers) {
      const list = this.#consumers.get(consumer.model);
      if (list) list.push(consumer);
      else this.#consumers.set(consumer.model, [consumer]);
    }
  }

  /** True when more than one consumer reads `model`: its cohorts go through the grouped path together. */
  shared(model: string): boolean {
    return (this.#consumers.get(model)?.length ?? 0) > 1;
  }

  /** The model's rows, from its one run (started on `engine` by whoever asks first). */
  rows(engine: DuckDbEngine, modelName: string): Promise<ModelRows> {
    let run = this.#runs.get(modelName);
    if (!run) {
      run = this.#run(engine, modelName);
      this.#runs.set(modelName, run);
    }
    return run;
  }

  /** Drops the copies of shared runs once every consumer has read them. */
  async release(engine: DuckDbEngine): Promise<void> {
    for (const run of this.#runs.values()) {
      const rows = await run.catch(() => undefined);
      await rows?.release(engine);
    }
    this.#runs.clear();
  }

  async #run(engine: DuckDbEngine, modelName: string): Promise<ModelRows> {
    const model = this.#project.models.get(modelName)!;
    const source = this.#sources.get(model.source)!;
    const consumers = this.#consumers.get(modelName) ?? [];
    const open = async () => {
      this.#onRun?.(model.name, consumers.map((c) => c.address));
      return openModelRows(engine, source, model, consumers.flatMap((c) => c.columns), consumers.length > 1);
    };
    if (source.type === "duckdb") return open();
    const turn = (this.#turns.get(source.name) ?? Promise.resolve()).then(open, open);
    this.#turns.set(source.name, turn.catch(() => undefined));
    return turn;
  }
}

/**
 * Who reads which model in the grouped path of a plan for `targets`: every set in
 * play, and every ordinary cohort in play whose model does not run on a path of
 * its own (`ownPath`: pushed down into PostgreSQL).
 */
export function modelConsumers(project: Pick<Project, "cohorts" | "identifiers" | "models">, targets: readonly string[], ownPath: (model: string) => boolean): ModelConsumer[] {
  const consumers: ModelConsumer[] = [];
  for (const cohort of project.cohorts.values()) {
    const inPlay = cohort.forEach ? setInPlay(cohort, targets) : targets.length === 0 || targets.some((t) => addressMatches(t, cohort.address));
    if (!inPlay || (!cohort.forEach && ownPath(cohort.model))) continue;
    const identifier = project.identifiers.get(cohort.identifier);
    const columns = [...(identifier ? identifierParts(identifier).map((p) => p.column) : []), project.models.get(cohort.model)?.primaryKey, cohort.forEach?.keyColumn, cohort.forEach ? "label" : undefined];
    consumers.push({ address: cohort.address, model: cohort.model, columns: columns.filter((c): c is string => c !== undefined) });
  }
  return consumers;
}
