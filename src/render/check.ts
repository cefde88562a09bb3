import kleur from "kleur";
import type { CheckReport } from "../operations/check.js";

/** `coho check`: one row per connection, then hints for the failures. */
export function renderCheckHuman(report: CheckReport): string {
  const rows = report.results.map((r) => [r.ok ? "ok" : "FAILED", r.kind, r.name, r.target, r.ok ? r.detail : firstLine(r.detail)]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), ["status", "kind", "name", "target"][i]!.length));
  const pad = (cells: string[]) => cells.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell)).join("  ");
  const lines = [kleur.bold(pad(["status", "kind", "name", "target", "detail"]))];
  for (const row of rows) {
    const line = pad(row);
    lines.push(row[0] === "ok" ? line.replace(/^ok/, kleur.green("ok")) : line.replace(/^FAILED/, kleur.red().bold("FAILED")));
  }
  const failures = report.results.filter((r) => !r.ok);
  for (const failure of failures) {
    lines.push("", `${kleur.red().bold("error")}: ${failure.kind} ${failure.name}: ${failure.detail}`);
    if (failure.hint) lines.push(`${kleur.dim("hint")}: ${failure.hint}`);
  }
  lines.push("", failures.length === 0 ? kleur.green(`All ${report.results.length} checks passed.`) : kleur.red(`${failures.length} of ${report.results.length} checks failed.`));
  return lines.join("\n");
}

function firstLine(text: string): string {
  return text.split("\n")[0]!;
}
