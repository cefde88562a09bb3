import { readdirSync, readFileSync } from "node:fs";
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

  it("README's first commands are npm scripts that exist and work right after npm ci (which does not build)", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## First commands"), readme.indexOf("\n## ", readme.indexOf("## First commands") + 3));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    const scripts = [...block.matchAll(/npm (?:run )?([a-z:]+)/g)].map((m) => m[1]!).filter((s) => s !== "ci");
    expect(scripts).toEqual(["quickstart", "test"]);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.quickstart).toMatch(/^node scripts\/ensure-built\.mjs && /);
    expect(pkg.scripts.pretest).toBe("bash scripts/test-tools.sh && npm run build");
    expect(pkg.scripts.prepare).toBeUndefined();
  });

  it("CHANGELOG.md has an entry for the package's version", () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    expect(readFileSync(join(REPO_ROOT, "CHANGELOG.md"), "utf8")).toMatch(new RegExp(`^## ${version.replace(/\./g, "\\.")} — \\d{4}-\\d{2}-\\d{2}$`, "m"));
  });

  it("test files name what they prove, never a tracker's issue or item numbers", () => {
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
    const offending = files(join(REPO_ROOT, "test")).flatMap((file) =>
      readFileSync(file, "utf8").split("\n").flatMap((line, i) => (/\bissue #?\d+|\bitems? \d+(, \d+)*\b(?! (of|per|in) )/i.test(line) ? [`${file.slice(REPO_ROOT.length + 1)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offending).toEqual([]);
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
