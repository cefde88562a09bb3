import { describe, expect, it } from "vitest";
import { attributeObjects, attributesRequestBody } from "../../src/destinations/braze-attributes/attributes-body.js";
import { KeyChunks, packBatches } from "../../src/destinations/shared/pack-batches.js";

describe("/users/track body text", () => {
  // Ids that JSON must escape (quotes, backslashes, control characters, non-ASCII, a lone surrogate) and both identifier kinds.
  const add = ["external_id:u1", 'external_id:say "hi"\\', "external_id:tab\there\u0001", "alias:email:a@x.com", "external_id:ünï😀", "external_id:\ud800", "alias:crm:label:with:colons"];
  const remove = ["external_id:gone", "alias:email:b@y"];
  const bindings = [
    { kind: "boolean", name: "coho_vip", onLeave: "false" },
    { kind: "boolean", name: 'coho_"odd"', onLeave: "unset" },
    { kind: "array", name: "coho_cohorts", value: 'v"ip' },
  ] as const;

  it("is exactly JSON.stringify of the attributes objects, for every binding, side and identifier kind", () => {
    for (const binding of bindings) {
      for (const updateExistingOnly of [true, false]) {
        const text = attributesRequestBody(binding, add, remove, updateExistingOnly);
        expect(text).toBe(JSON.stringify({ attributes: attributeObjects(binding, add, remove, updateExistingOnly) }));
        // Valid JSON with one object per member, additions first: `index` in Braze's errors maps back.
        const parsed = JSON.parse(text) as { attributes: Record<string, unknown>[] };
        expect(parsed.attributes).toHaveLength(add.length + remove.length);
      }
    }
    expect(attributesRequestBody(bindings[0], [], [], true)).toBe('{"attributes":[]}');
  });

  it("refuses a key that names no /users/track user, as the object builder does", () => {
    expect(() => attributesRequestBody(bindings[0], ["device_id:d1"], [], true)).toThrow(/external_id or alias only/);
    expect(() => attributesRequestBody(bindings[0], ["external_id:"], [], true)).toThrow(/external_id or alias only/);
  });
});

describe("packBatches over key chunks", () => {
  it("packs chunks exactly as it packs single keys: same batches, same order, same seam", async () => {
    const adds = Array.from({ length: 23 }, (_, i) => `external_id:a${i}`);
    const removes = Array.from({ length: 9 }, (_, i) => `external_id:r${i}`);
    const chunked = (keys: string[], size: number) => new KeyChunks((async function* () {
      for (let i = 0; i < keys.length; i += size) yield keys.slice(i, i + size);
    })());
    async function* oneByOne(keys: string[]) {
      yield* keys;
    }
    const collect = async (batches: AsyncGenerator<unknown>) => {
      const all: unknown[] = [];
      for await (const batch of batches) all.push(batch);
      return all;
    };
    const expected = await collect(packBatches(oneByOne(adds), oneByOne(removes), 5));
    expect(expected).toHaveLength(Math.ceil((adds.length + removes.length) / 5));
    expect(await collect(packBatches(chunked(adds, 7), chunked(removes, 4), 5))).toEqual(expected);
    expect(await collect(packBatches(adds, removes, 5))).toEqual(expected);
    // Iterated directly, KeyChunks still yields single keys.
    const flat: string[] = [];
    for await (const key of chunked(adds, 6)) flat.push(key);
    expect(flat).toEqual(adds);
  });
});
