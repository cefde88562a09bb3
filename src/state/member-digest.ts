import { createHash } from "node:crypto";

/**
 * The member digest, version 1: order-independent, stable across coho versions and
 * platforms, and computable both in DuckDB (for millions of members) and in plain
 * JavaScript (the reference, and for tests).
 *
 *   For each member key: MD5 of its UTF-8 bytes, read as two big-endian unsigned
 *   64-bit integers (hi, lo). Sum each half over all members, modulo 2^64.
 *   Digest = "v1:" + count + ":" + hex16(sum hi) + hex16(sum lo).
 *
 * It detects a snapshot that was truncated, edited or swapped; it is an integrity
 * check, not a defence against someone forging keys on purpose.
 */
export const DIGEST_PREFIX = "v1";

const MOD = 2n ** 64n;

export function memberDigest(keys: Iterable<string>): string {
  let count = 0;
  let hi = 0n;
  let lo = 0n;
  for (const key of keys) {
    const hash = createHash("md5").update(key, "utf8").digest();
    hi = (hi + hash.readBigUInt64BE(0)) % MOD;
    lo = (lo + hash.readBigUInt64BE(8)) % MOD;
    count++;
  }
  return formatDigest(count, hi, lo);
}

/**
 * The same digest as SQL over a DuckDB relation with a VARCHAR column `key`; read
 * its one row with `digestFromRow`. DuckDB's md5_number gives the MD5 as a
 * little-endian 128-bit integer, so each big-endian half is not one column away:
 * the query sums every byte lane of both halves instead (16 BIGINT sums, exact
 * below 2^55 members), and `digestFromRow` weighs the lanes back into the
 * big-endian sums. One MD5 per key and integer arithmetic only: about 3× faster
 * than parsing hex substrings of md5().
 */
export function memberDigestSql(relation: string): string {
  const lanes = Array.from({ length: 8 }, (_, i) => `sum((hi >> ${8 * i}) & 255)::BIGINT, sum((lo >> ${8 * i}) & 255)::BIGINT`);
  return `SELECT count(*) AS n, ${lanes.join(", ")}
FROM (SELECT (h & 18446744073709551615::UHUGEINT)::UBIGINT AS hi, (h >> 64)::UBIGINT AS lo FROM (SELECT md5_number(key) AS h FROM (${relation}) AS coho_digest_keys) AS coho_md5) AS coho_halves`;
}

/**
 * The digest from `memberDigestSql`'s row: count, then per byte i (0 = least
 * significant of the little-endian half) the lane sums of the first and second
 * MD5 half. Byte i of a little-endian half is byte 7 − i of the big-endian one.
 */
export function digestFromRow(row: readonly unknown[]): string {
  const count = Number(row[0] ?? 0);
  let hi = 0n;
  let lo = 0n;
  for (let i = 0; i < 8; i++) {
    const weight = 1n << BigInt(8 * (7 - i));
    hi += BigInt(String(row[1 + 2 * i] ?? 0)) * weight;
    lo += BigInt(String(row[2 + 2 * i] ?? 0)) * weight;
  }
  return formatDigest(count, hi % MOD, lo % MOD);
}

/**
 * The digest per group: one row (g, n, sum hi, sum lo) per value of `group` in
 * `relation`; read it with `digestFromGroupRow`. One md5_number per key; each
 * little-endian half is byte-swapped to big-endian with three mask-and-shift
 * steps, so only two sums per group remain (a third of the cost of 16 byte-lane
 * sums when a plan verifies millions of snapshot keys). The sums are HUGEINT,
 * exact; the modulo is taken in `digestFromGroupRow`.
 */
export function memberDigestByGroupSql(relation: string, group: string): string {
  return `SELECT g, count(*) AS n, sum(${byteSwapSql("hi")}) AS hi, sum(${byteSwapSql("lo")}) AS lo
FROM (SELECT g, (h & 18446744073709551615::UHUGEINT)::UBIGINT AS hi, (h >> 64)::UBIGINT AS lo FROM (SELECT ${group} AS g, md5_number(key) AS h FROM (${relation}) AS coho_digest_keys) AS coho_md5) AS coho_halves
GROUP BY g`;
}

/** The digest from one row (n, sum hi, sum lo) of `memberDigestByGroupSql` (without its group column). */
export function digestFromGroupRow(row: readonly unknown[]): string {
  const sum = (value: unknown) => BigInt(String(value ?? 0)) % MOD;
  return formatDigest(Number(row[0] ?? 0), sum(row[1]), sum(row[2]));
}

/** A UBIGINT with its eight bytes reversed: swap bytes, then 16-bit pairs, then 32-bit halves (masked first, so no shift overflows). */
function byteSwapSql(x: string): string {
  const bytes = `(((${x} & 71777214294589695::UBIGINT) << 8) | ((${x} >> 8) & 71777214294589695::UBIGINT))`;
  const pairs = `(((${bytes} & 281470681808895::UBIGINT) << 16) | ((${bytes} >> 16) & 281470681808895::UBIGINT))`;
  return `(((${pairs} & 4294967295::UBIGINT) << 32) | (${pairs} >> 32))`;
}

export function formatDigest(count: number, hi: bigint, lo: bigint): string {
  return `${DIGEST_PREFIX}:${count}:${hi.toString(16).padStart(16, "0")}${lo.toString(16).padStart(16, "0")}`;
}
