import { isAlias, isMap, isPair, isScalar, isSeq, type Node } from "yaml";
import type { SourceLocation } from "../model/diagnostic.js";
import { position, type YamlFile } from "./read-yaml.js";

export type DataPath = readonly (string | number)[];

/** `cohorts.a.guards`, `moved[0].from`: how a data path is named in messages. */
export function formatPath(path: DataPath): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === "number" || /^\d+$/.test(segment)) return `${text}[${segment}]`;
    return text === "" ? segment : `${text}.${segment}`;
  }, "");
}

/**
 * Finds where a data path is written. `target: "key"` points at the mapping key
 * (for unknown keys and for whole entries); `"value"` at the value. Falls back to
 * the closest existing ancestor, so every diagnostic gets a real position.
 */
export function locate(file: YamlFile, path: DataPath, target: "key" | "value" = "value"): SourceLocation {
  let node: unknown = file.doc.contents;
  let best: { range?: readonly number[] | null } | undefined = node as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    node = resolve(file, node);
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      if (last && target === "key" && isScalar(pair.key)) {
        best = pair.key;
        break;
      }
      node = pair.value;
      best = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && Number.isInteger(Number(segment))) {
      node = node.items[Number(segment)];
      if (!node) break;
      best = node as Node;
    } else {
      break;
    }
  }
  return fromRange(file, best?.range ?? undefined);
}

/** Location of a specific offset within a scalar's source text, e.g. one `${env:…}`. */
export function locateWithin(file: YamlFile, path: DataPath, needle: string): SourceLocation {
  const node = nodeAt(file, path);
  const range = node?.range;
  if (range) {
    const index = file.text.slice(range[0], range[1]).indexOf(needle);
    if (index >= 0) {
      const [line, column] = position(file.lines, range[0] + index);
      return { file: file.path, line, column, length: needle.length };
    }
  }
  return locate(file, path);
}

/** Where the text of a (possibly block) scalar begins: the first content line of `|`. */
export function locateScalarText(file: YamlFile, path: DataPath): SourceLocation {
  const node = nodeAt(file, path);
  if (isScalar(node) && node.range && (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED")) {
    const newline = file.text.indexOf("\n", node.range[0]);
    if (newline >= 0 && newline < node.range[1]) {
      let offset = newline + 1;
      while (file.text[offset] === " ") offset++;
      const [line, column] = position(file.lines, offset);
      return { file: file.path, line, column };
    }
  }
  if (isScalar(node) && node.range && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE")) {
    const [line, column] = position(file.lines, node.range[0] + 1);
    return { file: file.path, line, column };
  }
  return locate(file, path);
}

function nodeAt(file: YamlFile, path: DataPath): Node | undefined {
  const node = file.doc.getIn(path, true);
  return (resolve(file, node) as Node | undefined) ?? undefined;
}

function resolve(file: YamlFile, node: unknown): unknown {
  return isAlias(node) ? node.resolve(file.doc) : node;
}

function fromRange(file: YamlFile, range: readonly number[] | undefined): SourceLocation {
  if (!range || range[0] === undefined) return { file: file.path, line: 1, column: 1 };
  const [line, column] = position(file.lines, range[0]);
  const end = range[1] ?? range[0];
  const text = file.text.slice(range[0], end);
  const firstLine = text.split("\n")[0] ?? "";
  return { file: file.path, line, column, length: Math.max(1, firstLine.trimEnd().length) };
}
