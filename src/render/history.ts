import kleur from "kleur";
import type { HistoryCohort, HistoryOutcome, HistoryRecord } from "../model/history.js";

/** `coho history`: newest apply first, one headline each, then its cohorts. */
export function renderHistoryHuman(records: readonly HistoryRecord[], address?: string): string {
  if (records.length === 0) return address ? `No apply recorded for ${address}.` : "No apply recorded yet.";
  const blocks = [...records].reverse().map((record) => {
    const t = record.totals;
    const serial = record.serial_before === record.serial_after ? `serial ${record.serial_after}` : `serial ${record.serial_before}→${record.serial_after}`;
    const head = `${record.started_at}  ${outcome(record.outcome)}  ${serial}  +${t.added} / −${t.removed}  ${t.requests} req, ${t.retries} retries  by ${record.who}`;
    const cohorts = record.cohorts.filter((c) => address === undefined || c.address === address).map(renderCohort);
    const errors = record.errors.map((e) => `    ${kleur.red(e)}`);
    return [head, ...cohorts, ...errors].join("\n");
  });
  return blocks.join("\n");
}

function renderCohort(c: HistoryCohort): string {
  const refused = Object.entries(c.refused).filter(([, n]) => n > 0).map(([reason, n]) => `${n} ${reason}`);
  const parts = [`+${c.added}`, `−${c.removed}`, `${c.requests} req`];
  if (c.retries > 0) parts.push(`${c.retries} retries`);
  if (c.failed > 0) parts.push(kleur.red(`${c.failed} not acknowledged`));
  if (refused.length > 0) parts.push(`refused rows: ${refused.join(", ")}`);
  return `  ${c.address} (${c.actions.join(", ")}): ${c.status}  ${parts.join(", ")}`;
}

function outcome(value: HistoryOutcome): string {
  const padded = value.padEnd(11);
  if (value === "applied" || value === "no_changes") return kleur.green(padded);
  if (value === "interrupted" || value === "cancelled") return kleur.yellow(padded);
  return kleur.red(padded);
}
