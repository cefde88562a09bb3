import { execFileSync } from "node:child_process";

/**
 * Markdown as GitHub renders a comment: cmark-gfm (GitHub's fork of cmark,
 * Debian package cmark-gfm, installed by .ci/run) with the extensions github.com
 * enables. Raw HTML is kept (<details>, <sub>), tagfilter strips the dangerous tags.
 */
export function renderGfm(markdown: string): string {
  return execFileSync("cmark-gfm", ["--extension", "table", "--extension", "strikethrough", "--extension", "autolink", "--extension", "tagfilter", "--extension", "tasklist", "--unsafe"], { input: markdown, encoding: "utf8" });
}

export interface RenderedTable {
  readonly header: string[];
  /** Cells of each body row, as HTML. cmark-gfm pads short rows and drops extra cells, so check their content. */
  readonly rows: string[][];
}

/** The tables of rendered HTML, in order. */
export function tablesOf(html: string): RenderedTable[] {
  return [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map(([, table]) => {
    const cells = (row: string, tag: string) => [...row.matchAll(new RegExp(`<${tag}(?: [^>]*)?>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => m[1]!);
    const head = /<thead>([\s\S]*?)<\/thead>/.exec(table!)?.[1] ?? "";
    const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table!)?.[1] ?? "";
    return { header: cells(head, "th"), rows: [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => cells(m[1]!, "td")) };
  });
}

/** Text of the HTML without tags (for "does the reader see X" checks). */
export function textOf(html: string): string {
  return html.replace(/<[^>]+>/g, "").replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
