/** Snowflake's limit on a QUERY_TAG's length. */
const MAX_QUERY_TAG = 2000;

/** What a statement is for: a model (and the cohorts it feeds), or coho's own work. */
export type TaggedWork = { readonly model: string; readonly cohorts?: readonly string[] } | { readonly work: "state" | "push-down" };

/**
 * The QUERY_TAG of every statement coho sends, so its cost shows up by tool, source,
 * model and cohort in QUERY_HISTORY: JSON such as
 * `{"tool":"coho","source":"wh","model":"active","cohorts":["alpha"]}`, the cohort
 * list cut to fit Snowflake's 2,000 characters.
 */
export function queryTag(source: string, what: TaggedWork): string {
  const base = { tool: "coho", source, ...("model" in what ? { model: what.model } : { work: what.work }) };
  const cohorts = "model" in what ? (what.cohorts ?? []) : [];
  const kept: string[] = [];
  for (const cohort of cohorts) {
    if (JSON.stringify({ ...base, cohorts: [...kept, cohort] }).length > MAX_QUERY_TAG) break;
    kept.push(cohort);
  }
  const tag = JSON.stringify(kept.length > 0 ? { ...base, cohorts: kept } : base);
  return tag.length <= MAX_QUERY_TAG ? tag : JSON.stringify({ tool: "coho", source: source.slice(0, 200) });
}
