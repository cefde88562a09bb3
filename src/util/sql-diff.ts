import { createTwoFilesPatch } from "diff";

/** A unified diff of a model's SQL since the last apply, or undefined when unchanged. */
export function sqlDiff(model: string, before: string | undefined, after: string): string | undefined {
  if (before === undefined || before === after) return undefined;
  const patch = createTwoFilesPatch(`${model} (applied)`, `${model} (config)`, ensureNewline(before), ensureNewline(after), undefined, undefined, { context: 3 });
  // Drop the "===…" header line the diff package adds; keep ---/+++ and hunks.
  return patch.split("\n").filter((line) => !/^={3,}$/.test(line)).join("\n").trimEnd();
}

function ensureNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
