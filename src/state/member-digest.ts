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

/** 2^64: the sums are taken modulo it. */
const MOD_SQL = "18446744073709551616::HUGEINT";

/**
 * The MD5 halves of each key of `relation` (VARCHAR column `key`) as big-endian
 * UBIGINT columns `hi` and `lo`, with `carry` columns passed through. DuckDB's
 * md5_number reads the 16 bytes as one little-endian 128-bit integer, so each
 * 64-bit half is byte-swapped back with shifts and masks (integer arithmetic on
 * one MD5 per key: ~1.4× faster than summing the 16 byte lanes separately, ~2×
 * faster than parsing hex substrings of md5()).
 */
function bigEndianHalvesSql(relation: string, carry = ""): string {
  const swap = (x: string) => Array.from({ length: 8 }, (_, i) => `(((${x} >> ${8 * i}) & 255) << ${8 * (7 - i)})`).join(" | ");
  return `SELECT ${carry}${swap("le_hi")} AS hi, ${swap("le_lo")} AS lo
FROM (SELECT ${carry}(h & 18446744073709551615::UHUGEINT)::UBIGINT AS le_hi, (h >> 64)::UBIGINT AS le_lo
  FROM (SELECT ${carry}md5_number(key) AS h FROM (${relation}) AS coho_digest_keys) AS coho_md5) AS coho_le`;
}

/** Sums of both halves modulo 2^64 (exact: a HUGEINT sum of UBIGINTs cannot overflow below 2^63 members). */
const HALF_SUMS = `coalesce(sum(hi) % ${MOD_SQL}, 0) AS hi, coalesce(sum(lo) % ${MOD_SQL}, 0) AS lo`;

/**
 * The same digest as SQL over a DuckDB relation with a VARCHAR column `key`:
 * one row (n, hi, lo); read it with `digestFromRow`.
 */
export function memberDigestSql(relation: string): string {
  return `SELECT count(*) AS n, ${HALF_SUMS} FROM (${bigEndianHalvesSql(relation)}) AS coho_halves`;
}

/** The digest from `memberDigestSql`'s row: count, sum of the first halves, sum of the second (both already modulo 2^64). */
export function digestFromRow(row: readonly unknown[]): string {
  return formatDigest(Number(row[0] ?? 0), BigInt(String(row[1] ?? 0)), BigInt(String(row[2] ?? 0)));
}

/** The digest per group: one row (g, n, hi, lo) per value of `group` in `relation`. */
export function memberDigestByGroupSql(relation: string, group: string): string {
  return `SELECT g, count(*) AS n, ${HALF_SUMS} FROM (${bigEndianHalvesSql(`SELECT ${group} AS g, key FROM (${relation}) AS coho_digest_groups`, "g, ")}) AS coho_halves GROUP BY g`;
}

/** A digest's parts: member count and both sums (modulo 2^64). */
export interface DigestParts {
  readonly count: number;
  readonly hi: bigint;
  readonly lo: bigint;
}

/** The parts of a digest string `formatDigest` wrote. */
export function parseDigest(digest: string): DigestParts {
  const match = /^v1:(\d+):([0-9a-f]{16})([0-9a-f]{16})$/.exec(digest);
  if (!match) throw new Error(`not a member digest: ${digest}`);
  return { count: Number(match[1]), hi: BigInt(`0x${match[2]}`), lo: BigInt(`0x${match[3]}`) };
}

/** The parts in a `memberDigestSql` / `memberDigestByGroupSql` row (without the group column). */
export function partsFromRow(row: readonly unknown[]): DigestParts {
  return { count: Number(row[0] ?? 0), hi: BigInt(String(row[1] ?? 0)), lo: BigInt(String(row[2] ?? 0)) };
}

/**
 * The digest of a set changed by members added and removed, without reading the
 * set again: the digest is a sum, so digest(S ∪ A − R) = digest(S) + digest(A) −
 * digest(R) when A holds no member of S and R only members of S (the caller's
 * to ensure, e.g. with anti and semi joins against S).
 */
export function shiftDigest(base: string, added: DigestParts, removed: DigestParts): string {
  const from = parseDigest(base);
  const wrap = (x: bigint) => ((x % MOD) + MOD) % MOD;
  return formatDigest(from.count + added.count - removed.count, wrap(from.hi + added.hi - removed.hi), wrap(from.lo + added.lo - removed.lo));
}

export function formatDigest(count: number, hi: bigint, lo: bigint): string {
  return `${DIGEST_PREFIX}:${count}:${hi.toString(16).padStart(16, "0")}${lo.toString(16).padStart(16, "0")}`;
}

/**
 * The same digest as PostgreSQL SQL over a relation with a text column `key`; read
 * its one row (n, hi, lo) with `digestFromPostgresRow`. md5() gives hex text: each
 * 16-digit half becomes a signed bigint through bit(64), summed exactly (sum(bigint)
 * is numeric); the sums are taken modulo 2^64 in JavaScript, which is the unsigned
 * sum the digest defines (a signed value differs from the unsigned one by 2^64).
 */
export function memberDigestPostgresSql(relation: string): string {
  return `SELECT ${memberDigestPostgresColumns} FROM (SELECT md5(key) AS h FROM (${relation}) AS coho_digest_keys) AS coho_md5`;
}

/** The aggregate columns (n, hi, lo) of `memberDigestPostgresSql`, over a relation with the key's md5 as `h`: for grouped queries. */
export const memberDigestPostgresColumns = (() => {
  const half = (take: "left" | "right") => `sum(('x' || ${take}(h, 16))::bit(64)::bigint)::text`;
  return `count(*)::text AS n, ${half("left")} AS hi, ${half("right")} AS lo`;
})();

export function digestFromPostgresRow(row: { n: string; hi: string | null; lo: string | null }): string {
  const unsigned = (sum: string | null) => ((BigInt(sum ?? "0") % MOD) + MOD) % MOD;
  return formatDigest(Number(row.n), unsigned(row.hi), unsigned(row.lo));
}
