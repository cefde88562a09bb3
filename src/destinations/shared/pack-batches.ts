import type { MemberKey } from "../../model/member-key.js";

/** The cohort road's cap (kept here as the default size for older callers). */
export const MAX_IDENTIFIERS_PER_REQUEST = 1000;

/** One membership request's worth of changes. */
export interface MembershipBatch {
  /** 0-based position in the sequence of batches for one cohort. */
  readonly index: number;
  readonly add: readonly MemberKey[];
  readonly remove: readonly MemberKey[];
}

/**
 * Keys that arrive a batch at a time (e.g. from DuckDB): packBatches takes each
 * array whole instead of awaiting key by key, which at a million keys is a
 * million promise turns. Iterated as an AsyncIterable it still yields single keys.
 */
export class KeyChunks implements AsyncIterable<MemberKey> {
  readonly chunks: AsyncIterable<readonly MemberKey[]> | Iterable<readonly MemberKey[]>;

  constructor(chunks: AsyncIterable<readonly MemberKey[]> | Iterable<readonly MemberKey[]>) {
    this.chunks = chunks;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<MemberKey> {
    for await (const chunk of this.chunks) yield* chunk;
  }
}

/** A source of keys as arrays: KeyChunks as they come, anything else whole (a plain array) or one key at a time. */
async function* chunksOf(source: AsyncIterable<MemberKey> | Iterable<MemberKey>): AsyncGenerator<readonly MemberKey[]> {
  if (source instanceof KeyChunks) {
    yield* source.chunks;
    return;
  }
  if (Array.isArray(source)) {
    yield source as readonly MemberKey[];
    return;
  }
  for await (const key of source) yield [key];
}

/**
 * Packs additions, then removals, into batches of exactly `size` identifiers (the
 * last may be smaller). Additions and removals share a batch at the seam, so the
 * number of batches is exactly ceil((adds + removes) / size), and no batch holds
 * a key twice as long as the inputs are sets.
 */
export async function* packBatches(
  adds: AsyncIterable<MemberKey> | Iterable<MemberKey>,
  removes: AsyncIterable<MemberKey> | Iterable<MemberKey>,
  size: number = MAX_IDENTIFIERS_PER_REQUEST,
): AsyncGenerator<MembershipBatch> {
  let index = 0;
  let add: MemberKey[] = [];
  let remove: MemberKey[] = [];
  for await (const chunk of chunksOf(adds)) {
    for (const key of chunk) {
      add.push(key);
      if (add.length === size) {
        // Fresh arrays after every yield: a yielded batch is never mutated later.
        yield { index: index++, add, remove };
        add = [];
        remove = [];
      }
    }
  }
  for await (const chunk of chunksOf(removes)) {
    for (const key of chunk) {
      remove.push(key);
      if (add.length + remove.length === size) {
        yield { index: index++, add, remove };
        add = [];
        remove = [];
      }
    }
  }
  if (add.length + remove.length > 0) yield { index, add, remove };
}
