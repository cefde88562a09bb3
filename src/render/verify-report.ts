import kleur from "kleur";
import type { VerifyReport } from "../operations/verify.js";

/** Addresses listed under one "n/a" reason before "and N more". */
const MAX_LISTED = 10;

/** The human view of `coho verify`: one line per cohort, reasons for drift, a verdict. */
export function renderVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  // Cohorts that cannot be checked for one reason (every Cohort Import cohort): the reason once, then their addresses.
  const unsupported = new Map<string, string[]>();
  for (const cohort of report.cohorts.filter((c) => c.status === "unsupported")) {
    const list = unsupported.get(cohort.message) ?? unsupported.set(cohort.message, []).get(cohort.message)!;
    list.push(cohort.address);
  }
  for (const [message, addresses] of unsupported) {
    const shown = addresses.length > MAX_LISTED ? `${addresses.slice(0, MAX_LISTED).join(", ")} and ${(addresses.length - MAX_LISTED).toLocaleString("en")} more` : addresses.join(", ");
    lines.push(`  ${kleur.dim("n/a")}  ${message}:`, `    ${shown} (${addresses.length.toLocaleString("en")} cohort${addresses.length === 1 ? "" : "s"})`);
  }
  for (const cohort of report.cohorts.filter((c) => c.status !== "unsupported")) {
    const mark = cohort.drifted > 0 ? kleur.red("DRIFT") : kleur.green("ok");
    lines.push(`  ${cohort.address} (${cohort.destination}): ${mark}  ${cohort.message}`);
    const reasons = (["changed", "absent", "evicted"] as const).filter((r) => cohort.reasons[r] > 0).map((r) => `${r === "absent" ? "absent in Braze" : r}: ${cohort.reasons[r]}`);
    if (reasons.length > 0) lines.push(`    ${reasons.join(", ")} (changed: someone else wrote the attribute; absent in Braze: no profile for the user; evicted: a full array dropped coho's value)`);
    if (cohort.absent_means) lines.push(`    ${cohort.absent_means}`);
    if (cohort.samples && cohort.samples.length > 0) lines.push(`    e.g. ${cohort.samples.join(", ")}`);
  }
  if (report.cohorts.length === 0) lines.push("No applied cohorts to verify.");
  lines.push("");
  const drifted = report.cohorts.filter((c) => c.drifted > 0).length;
  lines.push(drifted > 0 ? kleur.red().bold(`Drift found in ${drifted} cohort(s): a plain apply does not repair it (state says the members are in): coho plan --refresh-from-braze --out repair.coho, then coho apply repair.coho (or coho apply --refresh-from-braze); see docs/braze-roads.md, "Drift".`) : kleur.green().bold("No drift found."));
  return lines.join("\n");
}
