import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { IdentifierConfig } from "../../src/model/project.js";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { MAX_IDENTIFIER_LENGTH, UNICODE_WHITE_SPACE, candidatesSql } from "../../src/sources/identifier-sql.js";
import { seededRandom } from "../helpers/random.js";

/** The documented identifier rules (docs/sources.md), written plainly in JavaScript: the reference the SQL must agree with. */
function expectedReason(value: string | null): string | null {
  if (value === null) return "null";
  if ([...value].every((c) => UNICODE_WHITE_SPACE.includes(c.codePointAt(0)!))) return "empty";
  if (/[\x00-\x1f\x7f]/.test(value)) return "control_characters";
  if ([...value].length > MAX_IDENTIFIER_LENGTH) return "too_long";
  return null;
}

// Characters at every edge of the rules: ASCII whitespace, other Unicode White_Space
// (NBSP, NEL, U+2028, U+3000), control characters at both ends of the range, DEL,
// multi-byte characters (so byte and character lengths differ), and both ends of
// the printable-ASCII fast path ("!" U+0021, "~" U+007E, beside space and DEL).
const ALPHABET = [" ", "\t", "\n", "\r", "\f", "\v", "\u00a0", "\u0085", "\u2028", "\u3000", "\u200b", "\x00", "\x01", "\x1f", "\x7f", "a", "Z", "9", "é", "€", "😀", ":", "'", "!", "~"];

function randomValue(random: () => number): string | null {
  const shape = random();
  if (shape < 0.05) return null;
  const pick = () => ALPHABET[Math.floor(random() * ALPHABET.length)]!;
  if (shape < 0.25) {
    // Near the length limit, in one- to four-byte characters.
    const char = ["x", "é", "€", "😀"][Math.floor(random() * 4)]!;
    const body = char.repeat(MAX_IDENTIFIER_LENGTH - 2 + Math.floor(random() * 4));
    return random() < 0.3 ? body + pick() : body;
  }
  if (shape < 0.4) return Array.from({ length: Math.floor(random() * 4) }, () => [" ", "\t", "\n", "\r", "\f", "\v", "\u00a0", "\u3000"][Math.floor(random() * 8)]!).join("");
  return Array.from({ length: Math.floor(random() * 8) }, pick).join("");
}

describe("identifier rules in SQL", () => {
  it("classify random values exactly as the written rules do, including the fast path's edges", async () => {
    const random = seededRandom(1717);
    const values = Array.from({ length: 4000 }, () => randomValue(random));
    // Its own empty project folder: the engine's sandbox walks the project for links
    // leaving it, and the shared temporary folder can hold whole clones (65 s in CI).
    const engine = await DuckDbEngine.create({ projectDir: mkdtempSync(join(tmpdir(), "coho-rules-")) });
    try {
      await engine.connection.run("CREATE TABLE memory.main.vals (i INTEGER, v VARCHAR)");
      const appender = await engine.connection.createAppender("vals", "main", "memory");
      values.forEach((value, i) => {
        appender.appendInteger(i);
        if (value === null) appender.appendNull();
        else appender.appendVarchar(value);
        appender.endRow();
      });
      appender.closeSync();
      const identifier: IdentifierConfig = { name: "email", type: "alias", column: "email", label: "email", origin: { file: "coho.yaml", line: 1, column: 1 } };
      const rows = (await engine.connection.runAndReadAll(`SELECT pk, key, reason FROM (${candidatesSql("SELECT i::VARCHAR AS pk, v FROM memory.main.vals", identifier)}) ORDER BY pk::INTEGER`)).getRows();
      expect(rows).toHaveLength(values.length);
      const reasons = new Map<string | null, number>();
      // Disagreements gathered and asserted once (thousands of separate expects cost more than the SQL).
      const disagreements: unknown[] = [];
      for (const [pk, key, reason] of rows) {
        const value = values[Number(pk)]!;
        const expected = expectedReason(value);
        const expectedKey = expected === null ? `alias:email:${value}` : null;
        if (reason !== expected || key !== expectedKey) disagreements.push({ value, reason, expected, key, expectedKey });
        reasons.set(expected, (reasons.get(expected) ?? 0) + 1);
      }
      expect(disagreements).toEqual([]);
      // The sample reaches every outcome, so the agreement above means something.
      for (const outcome of [null, "null", "empty", "control_characters", "too_long"]) expect(reasons.get(outcome) ?? 0).toBeGreaterThan(20);
    } finally {
      await engine.close();
    }
  });
});
