import kleur from "kleur";
import type { ApplyReport, CohortReport } from "../apply/report.js";
import { visible } from "./escape.js";

/** The human summary printed after an apply. */
export function renderApplyReport(report: ApplyReport): string {
  const lines: string[] = [];
  if (report.resumed) lines.push(kleur.yellow(`Finished an interrupted apply first: ${report.resumed.batches} request(s) re-sent for ${report.resumed.cohorts} cohort(s).`));
  for (const cohort of report.cohorts) lines.push(renderCohort(cohort));
  const t = report.totals;
  lines.push("");
  const head = report.interrupted ? kleur.yellow().bold("Apply interrupted.") : report.success ? kleur.green().bold("Apply complete!") : kleur.red().bold("Apply finished with errors.");
  lines.push(`${head} Members: +${t.added} / −${t.removed}; ${t.requests} request(s), ${t.retries} retr${t.retries === 1 ? "y" : "ies"}, ${(report.duration_ms / 1000).toFixed(1)}s. State serial ${report.state.serial}${report.environment === undefined ? "" : ` (environment ${report.environment})`}.`);
  if (t.failed > 0) lines.push(kleur.red(`${t.failed} member change(s) were not acknowledged by Braze; run coho apply again to retry them.`));
  if (t.refused > 0) lines.push(kleur.red(`Braze refused ${t.refused} member(s) one by one (listed above); they stay pending and the next plan shows them again.`));
  if (t.unconfirmed > 0) {
    lines.push(kleur.yellow(`${t.unconfirmed} addition(s) were sent but not confirmed in Braze: it has no profile for them, so the update-only write changed nothing (missing_profiles: wait). They are not recorded as members; the next plan shows them and apply sends them again until Braze confirms them.`));
  }
  if (report.interrupted) lines.push("State holds exactly what Braze acknowledged. Run coho apply again to resume.");
  return lines.join("\n");
}

function renderCohort(c: CohortReport): string {
  const status =
    c.status === "done" ? kleur.green("done") : c.status === "partial" ? kleur.red("PARTIAL") : c.status === "failed" ? kleur.red("FAILED") : c.status === "stopped" ? kleur.yellow("stopped") : kleur.dim("skipped");
  const parts = [`+${c.added}`, `−${c.removed}`, `${c.requests} req`];
  if (c.retries > 0) parts.push(`${c.retries} retries`);
  if (c.rejected > 0) parts.push(`${c.rejected} rejected rows`);
  if (c.failed > 0) parts.push(`${c.failed} not sent`);
  if (c.refused > 0) parts.push(`${c.refused} refused by Braze`);
  if (c.unconfirmed > 0) parts.push(`${c.unconfirmed} sent, not confirmed (no Braze profile)`);
  const lines = [`  ${visible(c.address)} (${c.actions.join(", ")}): ${status}  ${parts.join(", ")}  ${(c.duration_ms / 1000).toFixed(1)}s`];
  if (c.error) lines.push(`    ${kleur.red(visible(c.error))}`);
  if (c.error && c.hint) lines.push(`    ${kleur.dim("hint")}: ${visible(c.hint)}`);
  for (const [message, count] of Object.entries(c.refusals ?? {})) lines.push(`    ${kleur.red(`refused ${count}×: ${visible(message)}`)}`);
  return lines.join("\n");
}
