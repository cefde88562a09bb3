import type { MemberRefusal, MembershipHooks } from "../destination.js";
import type { MembershipBatch } from "./pack-batches.js";

/**
 * Sends batches from one generator with `concurrency` workers: each batch is
 * announced (beforeSend) before it is sent and acknowledged after Braze answered,
 * with the members Braze refused. On a failure no new batch starts, the ones in
 * flight finish, and the first error is thrown.
 */
export async function streamBatches(
  batches: AsyncGenerator<MembershipBatch>,
  concurrency: number,
  hooks: MembershipHooks,
  send: (batch: MembershipBatch) => Promise<readonly MemberRefusal[]>,
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
        identifiers += batch.add.length + batch.remove.length;
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
