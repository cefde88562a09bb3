import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COHO_BIN } from "../helpers/cli.js";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { freePort } from "../helpers/postgres-cluster.js";

/** The command lines of every fenced `sh` block of a Markdown page, in order. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe("docs/getting-started.md", () => {
  it("every command of its sh blocks runs, in order, in an empty folder", async () => {
    const page = readFileSync(join(REPO_ROOT, "docs", "getting-started.md"), "utf8");
    const blocks = shellBlocks(page);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const work = mkdtempSync(join(tmpdir(), "coho-getting-started-"));
    // `coho` on PATH as an installed one would be: this checkout's build.
    const bin = join(work, ".bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "coho"), `#!/usr/bin/env bash\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(COHO_BIN)} "$@"\n`);
    chmodSync(join(bin, "coho"), 0o755);
    const folder = join(work, "empty");
    mkdirSync(folder);
    // One shell, as a reader pastes the blocks: job control for `&`/`kill %1`, stop at the first failure.
    // A failure midway must not leave the background emulator holding the output open.
    const script = `set -euo pipefail\nset -m\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n${blocks.join("\n")}`;
    const port = String(await freePort());
    const result = spawnSync("bash", ["--noprofile", "--norc", "-c", script], {
      cwd: folder,
      env: { PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: work, NO_COLOR: "1", COHO_EMULATOR_PORT: port },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("The configuration is valid.");
    expect(result.stdout).toContain("Apply complete!");
    expect(result.stdout).toContain("No changes.");
  }, 180_000);
});
