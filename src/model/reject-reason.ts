/** Why a model row does not become a member. `duplicate`: the same member again (kept once). */
export const REJECT_REASONS = ["null", "empty", "control_characters", "too_long", "duplicate"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export function noRejections(): Record<RejectReason, number> {
  return { null: 0, empty: 0, control_characters: 0, too_long: 0, duplicate: 0 };
}
