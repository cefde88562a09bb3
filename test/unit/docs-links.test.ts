import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { brokenLinks, documentationFiles, headingAnchors, proseLines } from "../helpers/markdown.js";

describe("documentation links", () => {
  it.each(documentationFiles())("every relative link and anchor in %s resolves", (file) => {
    expect(brokenLinks(file)).toEqual([]);
  });

  it("README stays a front page of at most 250 lines", () => {
    const lines = readFileSync(join(REPO_ROOT, "README.md"), "utf8").split("\n").length;
    expect(lines).toBeLessThanOrEqual(251);
  });

  it("CHANGELOG.md has an entry for the package's version", () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    expect(readFileSync(join(REPO_ROOT, "CHANGELOG.md"), "utf8")).toMatch(new RegExp(`^## ${version.replace(/\./g, "\\.")} — \\d{4}-\\d{2}-\\d{2}$`, "m"));
  });

  it("the docs speak of coho alone: no sessions, no tracker item numbers", () => {
    const offending = documentationFiles().flatMap((file) =>
      proseLines(readFileSync(join(REPO_ROOT, file), "utf8")).flatMap((line, i) =>
        /\b(this|last|previous|earlier|next) session\b|\bissue \d+|\bitem \d+ of\b/i.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [],
      ),
    );
    expect(offending).toEqual([]);
  });
});

describe("the link checker itself", () => {
  it("computes GitHub's anchors, duplicates numbered", () => {
    expect([...headingAnchors("# A `b` c!\n## Check credentials: `coho check`\n## Same\n## Same\n```\n# not a heading\n```\n")]).toEqual(["a-b-c", "check-credentials-coho-check", "same", "same-1"]);
  });

  it("ignores links inside code", () => {
    expect(proseLines("see `[x](nowhere.md)`\n```\n[y](nowhere.md)\n```\n[z](there.md)")).toEqual(["see ", "", "", "", "[z](there.md)"]);
  });
});
