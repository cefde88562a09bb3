import type { MemberRefusal, MergedBatch, MergedHooks, MergedUser } from "../destination.js";

/** Packs users into batches of exactly `size` users (the last may be smaller): ceil(users / size) batches. */
export async function* packUsers(users: AsyncIterable<MergedUser>, size: number): AsyncGenerator<MergedBatch> {
  let index = 0;
  let batch: MergedUser[] = [];
  for await (const user of users) {
    batch.push(user);
    if (batch.length === size) {
      // A fresh array after every yield: a yielded batch is never mutated later.
      yield { index: index++, users: batch };
      batch = [];
    }
  }
  if (batch.length > 0) yield { index, users: batch };
}

/**
 * Sends merged batches with `concurrency` workers, like streamBatches: each batch
 * is announced (beforeSend) before it is sent and acknowledged after Braze
 * answered. On a failure no new batch starts, the ones in flight finish, and the
 * first error is thrown.
 */
export async function streamMerged(
  batches: AsyncGenerator<MergedBatch>,
  concurrency: number,
  hooks: MergedHooks,
  send: (batch: MergedBatch) => Promise<readonly MemberRefusal[]>,
): Promise<{ requests: number; identifiers: number; stopped: boolean }> {
  let requests = 0;
  let identifiers = 0;
  let failure: unknown;
  let stopped = false;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (failure !== undefined) return;
      if (hooks.shouldStop?.()) {
        stopped = true;
        return;
      }
      const next = await batches.next();
      if (next.done) return;
      const batch = next.value;
      try {
        await hooks.beforeSend?.(batch);
        const refused = await send(batch);
        requests++;
        identifiers += batch.users.length;
        await hooks.acknowledged?.(batch, refused);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  if (failure !== undefined) throw failure;
  return { requests, identifiers, stopped };
}
