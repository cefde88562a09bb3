/**
 * Labels on every BigQuery job coho runs, so its cost shows up by tool, source,
 * model and cohort in billing exports and INFORMATION_SCHEMA.JOBS. BigQuery's
 * rules: keys and values of lower-case letters, digits, `_` and `-`, at most 63
 * characters; keys start with a letter.
 */
export function jobLabels(source: string, model: string, cohorts: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = { tool: "coho", coho_source: labelValue(source), coho_model: labelValue(model) };
  // A model shared by several cohorts names them all, as far as 63 characters go.
  if (cohorts.length > 0) labels.coho_cohort = labelValue(cohorts.join("-"));
  return labels;
}

export function labelValue(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_-]+/g, "_").slice(0, 63);
}
