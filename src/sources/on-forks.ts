import type { DuckDbEngine } from "./duckdb-engine.js";

/**
 * Runs `work` for every item, as many at once as the engine has workers, each
 * worker on a fork of the engine (its own connection: DuckDB runs connections in
 * parallel, sharing one thread pool and one memory limit). Results come in item
 * order. On a failure no new item starts; those running finish, and the error of
 * the earliest failed item is thrown: the one a sequential run would have met.
 */
export async function onForks<T, R>(engine: DuckDbEngine, items: readonly T[], work: (engine: DuckDbEngine, item: T) => Promise<R>): Promise<R[]> {
  const width = Math.min(items.length, await engine.workers());
  if (width <= 1) {
    const results: R[] = [];
    for (const item of items) results.push(await work(engine, item));
    return results;
  }
  const results: R[] = new Array(items.length);
  const errors = new Map<number, unknown>();
  let next = 0;
  const worker = async (fork: DuckDbEngine) => {
    while (errors.size === 0 && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(fork, items[i]!);
      } catch (error) {
        errors.set(i, error);
      }
    }
  };
  const forks: DuckDbEngine[] = [];
  try {
    for (let i = 0; i < width; i++) forks.push(await engine.fork());
    await Promise.all(forks.map(worker));
  } finally {
    for (const fork of forks) await fork.close();
  }
  if (errors.size > 0) throw errors.get(Math.min(...errors.keys()));
  return results;
}
