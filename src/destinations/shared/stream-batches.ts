import type { MemberRefusal, MembershipHooks } from "../destination.js";
import type { MembershipBatch } from "./pack-batches.js";

/**
 * Sends batches from one generator with up to `concurrency` workers (a number, or
 * a function read as batches finish, so the count can follow the destination's
 * sizing): each batch is announced (beforeSend) before it is sent and
 * acknowledged after Braze answered, with the members Braze refused. On a
 * failure no new batch starts, the ones in flight finish, and the first error is
 * thrown.
 */
export async function streamBatches(
  batches: AsyncGenerator<MembershipBatch>,
  concurrency: number | (() => number),
  hooks: MembershipHooks,
  send: (batch: MembershipBatch) => Promise<readonly MemberRefusal[]>,
): Promise<{ requests: number; identifiers: number; stopped: boolean }> {
  return streamWork(batches, concurrency, hooks, send, (batch) => batch.add.length + batch.remove.length);
}

/** What streamWork calls around each batch. */
export interface WorkHooks<B> {
  readonly beforeSend?: (batch: B) => void | Promise<void>;
  readonly acknowledged?: (batch: B, refused: readonly MemberRefusal[]) => void | Promise<void>;
  readonly shouldStop?: () => boolean;
}

/** The worker pool behind streamBatches (and the merged road's streamMerged); `size` counts a batch's identifiers. */
export async function streamWork<B>(
  batches: AsyncGenerator<B>,
  concurrency: number | (() => number),
  hooks: WorkHooks<B>,
  send: (batch: B) => Promise<readonly MemberRefusal[]>,
  size: (batch: B) => number,
): Promise<{ requests: number; identifiers: number; stopped: boolean }> {
  const wanted = () => Math.max(1, typeof concurrency === "number" ? concurrency : concurrency());
  let requests = 0;
  let identifiers = 0;
  let failure: unknown;
  let stopped = false;
  let exhausted = false;
  let workers = 0;
  const running = new Set<Promise<void>>();
  const worker = async (): Promise<void> => {
    // `finally` runs as the worker returns, so the next worker's check already sees the lower count.
    try {
      for (;;) {
        if (failure !== undefined || exhausted || workers > wanted()) return;
        if (hooks.shouldStop?.()) {
          stopped = true;
          return;
        }
        const next = await batches.next();
        if (next.done) {
          exhausted = true;
          return;
        }
        const batch = next.value;
        try {
          await hooks.beforeSend?.(batch);
          const refused = await send(batch);
          requests++;
          identifiers += size(batch);
          await hooks.acknowledged?.(batch, refused);
        } catch (error) {
          failure ??= error;
        }
        grow();
      }
    } finally {
      workers--;
    }
  };
  const grow = (): void => {
    while (failure === undefined && !exhausted && !stopped && workers < wanted()) {
      workers++;
      const run: Promise<void> = worker().finally(() => running.delete(run));
      running.add(run);
    }
  };
  grow();
  while (running.size > 0) await Promise.all([...running]);
  if (failure !== undefined) throw failure;
  return { requests, identifiers, stopped };
}
