import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { describeSystemFailure } from "../../src/cli/system-errors.js";
import { freePort } from "../helpers/postgres-cluster.js";

/** Real errors from the file system and the network, as coho's dependencies raise them. */
function thrown(action: () => void): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("ordinary failures are described, not reported as bugs", () => {
  const dir = mkdtempSync(join(tmpdir(), "coho-syserr-"));

  it("a missing output folder names the path", () => {
    const path = join(dir, "nonexistent", "plan.coho");
    const failure = describeSystemFailure(thrown(() => writeFileSync(path, "x")));
    expect(failure?.message).toBe(`cannot open ${path}: no such file or folder (ENOENT)`);
    expect(failure?.hint).toContain("create the folder first");
  });

  it("a file where a folder should be (e.g. .coho is a file)", () => {
    writeFileSync(join(dir, ".coho"), "not a folder");
    const failure = describeSystemFailure(thrown(() => writeFileSync(join(dir, ".coho", "x.parquet"), "x")));
    expect(failure?.message).toMatch(/^cannot open .*\.coho\/x\.parquet: a part of the path is not a folder \(ENOTDIR\)$/);
  });

  it("full disk, read-only file system and permission errors have their own words", () => {
    const cases = [
      ["ENOSPC", "no space left on the device"],
      ["EROFS", "the file system is read-only"],
      ["EACCES", "permission denied"],
    ] as const;
    for (const [code, words] of cases) {
      const error = Object.assign(new Error(`${code}: x`), { code, syscall: "write", path: "/p/.coho/journal.jsonl" });
      expect(describeSystemFailure(error)?.message).toBe(`cannot write /p/.coho/journal.jsonl: ${words} (${code})`);
    }
  });

  it("a refused connection names host and port", async () => {
    const port = await freePort();
    const error = await new Promise((resolve) => connect(port, "127.0.0.1").on("error", resolve));
    expect(describeSystemFailure(error)?.message).toBe(`cannot reach 127.0.0.1:${port}: connection refused (is the server running, on that port?) (ECONNREFUSED)`);
  });

  it("a PostgreSQL server that is not there, through the driver, never leaks the URL", async () => {
    const port = await freePort();
    const client = new pg.Client({ connectionString: `postgres://coho:SECRET-pw@127.0.0.1:${port}/db` });
    const error = await client.connect().then(() => undefined, (e: unknown) => e);
    const failure = describeSystemFailure(error);
    expect(failure?.message).toContain(`127.0.0.1:${port}`);
    expect(JSON.stringify(failure)).not.toContain("SECRET-pw");
  });

  it("anything else stays unexplained (a real bug is still reported as one)", () => {
    expect(describeSystemFailure(new TypeError("x is not a function"))).toBeUndefined();
  });
});
