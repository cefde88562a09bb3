import type pg from "pg";

/** The connection ended under a pending operation. */
export class ConnectionLostError extends Error {}

/** Per connection: how it was lost (once it is) and the rejecters of the operations waiting on it. */
interface ConnectionWatch {
  lost: Error | undefined;
  readonly waiting: Set<(error: Error) => void>;
}

const WATCHES = new WeakMap<pg.Client, ConnectionWatch>();

export function watchConnection(client: pg.Client): void {
  const watch: ConnectionWatch = { lost: undefined, waiting: new Set() };
  const fail = (error: Error) => {
    watch.lost ??= error;
    for (const reject of watch.waiting) reject(watch.lost);
    watch.waiting.clear();
  };
  client.once("end", () => fail(new ConnectionLostError("Connection terminated unexpectedly")));
  client.once("error", fail);
  WATCHES.set(client, watch);
}

/**
 * `work`'s outcome, or a rejection as soon as the connection ends or fails.
 * Invariant: a settled operation leaves nothing registered on the connection.
 * (Promise.race against one long-lived "lost" promise did not: every race added
 * a reaction to it that kept the raced result reachable until the connection
 * closed, so a cursor's pages — every row of the model — piled up in the heap.)
 */
export function unlessLost<T>(client: pg.Client, work: Promise<T>): Promise<T> {
  const watch = WATCHES.get(client);
  if (!watch) return work;
  if (watch.lost) {
    work.catch(() => undefined); // its outcome no longer matters
    return Promise.reject(watch.lost);
  }
  return new Promise<T>((resolve, reject) => {
    watch.waiting.add(reject);
    work.then(
      (value) => {
        watch.waiting.delete(reject);
        resolve(value);
      },
      (error: unknown) => {
        watch.waiting.delete(reject);
        reject(error);
      },
    );
  });
}
