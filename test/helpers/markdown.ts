import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { REPO_ROOT } from "./fixtures.js";

/** README.md, CHANGELOG.md, ARCHITECTURE.md, every page under docs/ and every example's README, relative to the repository. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(REPO_ROOT, "docs")).filter((f) => f.endsWith(".md")).sort();
  const examples = readdirSync(join(REPO_ROOT, "examples")).filter((d) => existsSync(join(REPO_ROOT, "examples", d, "README.md"))).sort();
  return ["README.md", "CHANGELOG.md", "ARCHITECTURE.md", ...docs.map((f) => `docs/${f}`), ...examples.map((d) => `examples/${d}/README.md`)];
}

/** The text outside fenced code blocks and inline code spans, line by line (line numbers kept). */
export function proseLines(text: string): string[] {
  let fence: string | undefined;
  return text.split("\n").map((line) => {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (opener && opener[0] === fence[0] && opener.length >= fence.length && line.trim() === opener) fence = undefined;
      return "";
    }
    if (opener) {
      fence = opener;
      return "";
    }
    return line.replace(/(`+)(?:(?!\1).)+?\1/g, "");
  });
}

/**
 * GitHub's heading anchors: the heading's text with inline code marks and
 * links reduced to their text, lower case, everything but letters, digits,
 * spaces, hyphens and underscores dropped, spaces turned into hyphens; a
 * repeated anchor gets -1, -2, … appended.
 */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let fence: string | undefined;
  for (const line of text.split("\n")) {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (opener && opener[0] === fence[0] && line.trim() === opener) fence = undefined;
      continue;
    }
    if (opener) {
      fence = opener;
      continue;
    }
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)?.[1];
    if (!heading) continue;
    const plain = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/<[^>]+>/g, "");
    const slug = plain.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = counts.get(slug) ?? 0;
    counts.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

export interface LinkProblem {
  readonly file: string;
  readonly line: number;
  readonly target: string;
  readonly problem: string;
}

/** Every relative link (and #anchor) of one Markdown file that does not resolve. */
export function brokenLinks(file: string): LinkProblem[] {
  const path = join(REPO_ROOT, file);
  const problems: LinkProblem[] = [];
  proseLines(readFileSync(path, "utf8")).forEach((line, index) => {
    for (const match of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [pathPart, anchor] = target.split("#", 2) as [string, string | undefined];
      const linked = pathPart === "" ? path : resolve(dirname(path), decodeURIComponent(pathPart));
      const report = (problem: string) => problems.push({ file, line: index + 1, target, problem });
      if (relative(REPO_ROOT, linked).startsWith("..")) report("leads outside the repository");
      else if (!existsSync(linked)) report("no such file");
      else if (anchor !== undefined) {
        if (statSync(linked).isDirectory() || !linked.endsWith(".md")) report("an anchor into something that is not a Markdown file");
        else if (!headingAnchors(readFileSync(linked, "utf8")).has(anchor)) report(`no heading with anchor #${anchor}`);
      }
    }
  });
  return problems;
}
