import type { MemberRefusal, MergedBatch, MergedHooks, MergedUser } from "../destination.js";
import { streamWork } from "./stream-batches.js";

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
 * Sends merged batches with up to `concurrency` workers, like streamBatches: each
 * batch is announced (beforeSend) before it is sent and acknowledged after Braze
 * answered. On a failure no new batch starts, the ones in flight finish, and the
 * first error is thrown.
 */
export async function streamMerged(
  batches: AsyncGenerator<MergedBatch>,
  concurrency: number | (() => number),
  hooks: MergedHooks,
  send: (batch: MergedBatch) => Promise<readonly MemberRefusal[]>,
): Promise<{ requests: number; identifiers: number; stopped: boolean }> {
  return streamWork(batches, concurrency, hooks, send, (batch) => batch.users.length);
}
