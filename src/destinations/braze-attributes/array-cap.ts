import type { GuardVerdict } from "../../model/plan.js";
import type { BrazeAttributesConfig, CohortConfig } from "../../model/project.js";
import type { DuckDbEngine } from "../../sources/duckdb-engine.js";

/**
 * The array-cap guard: Braze silently drops the oldest value of a full array
 * attribute. A member holds one coho value per cohort on that attribute whose
 * members include them, so the worst count is at most the number of such cohorts:
 * at or under `max_array_values` nothing needs counting. Above it, the desired
 * members of every cohort are counted per user — exact when the plan has each
 * cohort's desired table, otherwise the bound stands (conservative: it blocks).
 */
export async function arrayCapVerdicts(
  config: BrazeAttributesConfig,
  cohorts: readonly CohortConfig[],
  desiredTable: (address: string) => string | undefined,
  engine: DuckDbEngine,
): Promise<Map<string, GuardVerdict>> {
  const byAttribute = new Map<string, CohortConfig[]>();
  for (const cohort of cohorts) {
    if (cohort.attribute?.kind !== "array") continue;
    byAttribute.set(cohort.attribute.name, [...(byAttribute.get(cohort.attribute.name) ?? []), cohort]);
  }
  const verdicts = new Map<string, GuardVerdict>();
  for (const [attribute, sharing] of byAttribute) {
    const cap = config.maxArrayValues;
    let worst = sharing.length;
    let exact = false;
    if (sharing.length > cap) {
      const tables = sharing.map((c) => desiredTable(c.address));
      if (tables.every((t): t is string => t !== undefined)) {
        const union = tables.map((t) => `SELECT key FROM ${t}`).join(" UNION ALL ");
        const reader = await engine.connection.runAndReadAll(`SELECT coalesce(max(n), 0) AS worst FROM (SELECT key, count(*) AS n FROM (${union}) GROUP BY key)`);
        worst = Number(reader.getRowObjects()[0]?.worst ?? 0);
        exact = true;
      }
    }
    const blocked = worst > cap;
    const message = blocked
      ? `array attribute ${attribute} of destination ${config.name} would hold up to ${worst} coho values for one user${exact ? "" : ` (${sharing.length} cohorts share it)`}, over max_array_values ${cap}: Braze would silently drop the oldest values; use fewer cohorts per attribute, or raise max_array_values if the attribute's cap in Braze is higher`
      : `array attribute ${attribute}: at most ${worst} coho value(s) per user, within max_array_values ${cap}`;
    for (const cohort of sharing) verdicts.set(cohort.address, { guard: "max_array_values", status: blocked ? "blocked" : "pass", message });
  }
  return verdicts;
}
