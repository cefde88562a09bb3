import { diagnosticsJson } from "./diagnostics.js";
import { CohoError, DiagnosticsError } from "../model/errors.js";
import { codeSpan, markdownText } from "./escape.js";
import { capped, count } from "./markdown-blocks.js";
import { COMMENT_MARKER } from "./plan-markdown.js";

/** Diagnostics listed in a failure comment before "…and N more". */
const MAX_LISTED = 50;

/**
 * The pull-request comment of a plan that could not be made (an invalid
 * configuration, an unreachable warehouse): it carries the plan comment's marker,
 * so the workflow replaces the previous plan with it and no stale plan stays on
 * the pull request looking current.
 */
export function renderPlanFailureMarkdown(error: unknown, cwd: string, environment?: string): string {
  // The environment asked for (--env, COHO_ENV), so a comment holding several environments' plans says whose failed.
  const lines = [COMMENT_MARKER, `### coho plan${environment === undefined ? "" : ` (${codeSpan(environment)})`} failed`, ""];
  if (error instanceof DiagnosticsError) {
    const { diagnostics, error_count } = diagnosticsJson(error.diagnostics, cwd) as { error_count: number; diagnostics: { severity: string; code: string; message: string; file: string | null; line: number | null; column: number | null }[] };
    lines.push(`> [!CAUTION]\n> The configuration has ${count(error_count)} error${error_count === 1 ? "" : "s"}; nothing was planned.`, "");
    const where = (d: (typeof diagnostics)[number]) => (d.file ? `${codeSpan(`${d.file}${d.line !== null ? `:${d.line}:${d.column ?? 1}` : ""}`)}: ` : "");
    // Errors first: they are why there is no plan.
    const ordered = [...diagnostics.filter((d) => d.severity === "error"), ...diagnostics.filter((d) => d.severity !== "error")];
    lines.push(...capped(ordered, MAX_LISTED, (d) => `- ${where(d)}**${d.severity}**: ${markdownText(d.message)} (${codeSpan(d.code)})`, (n) => `- …and ${count(n)} more; run \`coho validate\` for all of them.`));
  } else {
    const code = error instanceof CohoError ? error.code : "internal";
    lines.push(`> [!CAUTION]\n> ${markdownText(error instanceof Error ? error.message : String(error))} (${codeSpan(code)})`);
    if (error instanceof CohoError && error.hint) lines.push(">", `> ${markdownText(error.hint)}`);
  }
  return `${lines.join("\n")}\n`;
}
